// Graph inputs that carry parameters (axes, shapes, starts, conditions): the importer lists every
// one whose value it needs in one typed error, freezes those given `inputValues` into constants,
// and importModelForFeeds does both for a set of feeds, as `kiln run` does.
import { describe, expect, it } from 'vitest';
import { decodeModel, importModelForFeeds, importOnnx, InputValuesNeededError } from '../../../src/frontend/onnx/index.js';
import { KilnError } from '../../../src/ir/errors.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { attr, buildModel, node, OnnxType, subgraph, tensor } from './onnx-builder.js';

const I64 = OnnxType.INT64;
const x234 = tensorData('f32', [2, 3, 4], Array.from({ length: 24 }, (_, i) => i));

/** Two independent parameter inputs: y1 = ReduceSum(x, axes), y2 = Reshape(x, shape). */
const twoParams = buildModel({
  opset: 13,
  inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'axes', type: I64, dims: [1] }, { name: 'shape', type: I64, dims: [2] }],
  outputs: [{ name: 'y1' }, { name: 'y2' }],
  nodes: [node('ReduceSum', ['x', 'axes'], ['y1'], { keepdims: attr.i(0) }, 'sum'), node('Reshape', ['x', 'shape'], ['y2'], {}, 'reshape')],
});

/** One parameter behind another: the Reshape reads the ReduceSum, which waits for `axes`. */
const chained = buildModel({
  opset: 13,
  inputs: [{ name: 'x', dims: [2, 3, 4] }, { name: 'axes', type: I64, dims: [1] }, { name: 'shape', type: I64, dims: [2] }],
  outputs: [{ name: 'y' }],
  nodes: [node('ReduceSum', ['x', 'axes'], ['r'], { keepdims: attr.i(0) }, 'sum'), node('Reshape', ['r', 'shape'], ['y'], {}, 'reshape')],
});

function neededError(f: () => unknown): InputValuesNeededError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputValuesNeededError);
    return e as InputValuesNeededError;
  }
  return expect.fail('import did not throw');
}

const values = (t: TensorData | undefined) => Array.from(t!.data);

describe('inputs whose values the import needs', () => {
  it('are all listed in one InputValuesNeededError, each with what it decides', () => {
    const e = neededError(() => importOnnx(twoParams));
    expect(e.inputs).toEqual(['axes', 'shape']);
    expect(e.needs).toEqual([
      { input: 'axes', use: "the axes of node 'sum' (ReduceSum)" },
      { input: 'shape', use: "the shape of node 'reshape' (Reshape)" },
    ]);
    expect(e.message).toMatch(/the values of inputs 'axes' \(the axes of node 'sum' \(ReduceSum\)\), 'shape' \(the shape of node 'reshape' \(Reshape\)\) must be known when it is compiled/);
    expect(e.message).toMatch(/--input-value NAME=/);
  });

  it('become constants when given values, and stop being graph inputs', () => {
    const graph = importOnnx(twoParams, { inputValues: { axes: [1], shape: tensorData('i32', [2], [4, 6]) } });
    expect(graph.inputs.map((v) => v.name)).toEqual(['x']);
    const out = runOnCpu(graph, { x: x234 });
    expect(out['y1']!.shape).toEqual([2, 4]);
    // Sum over the 3 rows of each 3x4 block.
    expect(values(out['y1'])).toEqual([12, 15, 18, 21, 48, 51, 54, 57]);
    expect(out['y2']!.shape).toEqual([4, 6]);
    expect(values(out['y2'])).toEqual(values(x234));
  });

  it('are found through subgraphs and through the ops that compute a parameter from several inputs', () => {
    const bytes = buildModel({
      opset: 13,
      inputs: [{ name: 'x', dims: [3] }, { name: 'c', type: OnnxType.BOOL, dims: [] }, { name: 'a', type: I64, dims: [1] }, { name: 'b', type: I64, dims: [1] }],
      outputs: [{ name: 'y' }],
      nodes: [
        node('Add', ['a', 'b'], ['ax']),
        node('If', ['c'], ['y'], {
          then_branch: attr.g(subgraph('then', [node('Unsqueeze', ['x', 'ax'], ['t'], {}, 'unsq')], [{ name: 't' }])),
          else_branch: attr.g(subgraph('else', [node('Unsqueeze', ['x', 'ax'], ['e'])], [{ name: 'e' }])),
        }, 'branch'),
      ],
    });
    // The If's condition is not needed: with both branches imported, it selects at run time.
    const e = neededError(() => importOnnx(bytes));
    expect(e.inputs).toEqual(['a', 'b']);
    expect(e.needs[0]!.use).toBe("the axes of node 'unsq' (Unsqueeze)");
    const graph = importOnnx(bytes, { inputValues: { a: [0], b: [1] } });
    expect(graph.inputs.map((v) => v.name)).toEqual(['x', 'c']);
    expect(runOnCpu(graph, { x: tensorData('f32', [3], [1, 2, 3]), c: tensorData('bool', [], [0]) })['y']!.shape).toEqual([3, 1]);
    const frozen = importOnnx(bytes, { inputValues: { c: [1], a: [0], b: [1] } });
    expect(frozen.inputs.map((v) => v.name)).toEqual(['x']);
  });

  it('ask for an If condition\'s input when a branch does not import for these shapes (one meant for other inputs), then import only the branch taken', () => {
    // As Silero VAD's sample-rate branch: the else side reshapes for a length the x fed never has.
    const bytes = buildModel({
      opset: 13,
      inputs: [{ name: 'x', dims: [4] }, { name: 'c', type: OnnxType.BOOL, dims: [] }],
      outputs: [{ name: 'y' }],
      initializers: [tensor('pair', I64, [2], [2, 2]), tensor('thirds', I64, [2], [3, -1])],
      nodes: [node('If', ['c'], ['y'], {
        then_branch: attr.g(subgraph('then', [node('Reshape', ['x', 'pair'], ['t'])], [{ name: 't' }])),
        else_branch: attr.g(subgraph('else', [node('Reshape', ['x', 'thirds'], ['e'], {}, 'by3')], [{ name: 'e' }])),
      }, 'pick')],
    });
    const e = neededError(() => importOnnx(bytes));
    expect(e.inputs).toEqual(['c']);
    expect(e.needs[0]!.use).toMatch(/^the condition of node 'pick' \(If\), whose run-time form kiln refuses: node 'by3' \(Reshape\): .*\[3,-1\]/);
    const taken = importOnnx(bytes, { inputValues: { c: tensorData('bool', [], [1]) } });
    expect(taken.inputs.map((v) => v.name)).toEqual(['x']);
    const y = runOnCpu(taken, { x: tensorData('f32', [4], [1, 2, 3, 4]) })['y']!;
    expect([y.shape, values(y)]).toEqual([[2, 2], [1, 2, 3, 4]]);
    // The branch that does not fit, taken, is the model's error, as ONNX Runtime's would be.
    expect(() => importOnnx(bytes, { inputValues: { c: tensorData('bool', [], [0]) } })).toThrow(/node 'by3' \(Reshape\)/);
  });

  it('keep int64 values past the i32 range exactly while they are parameters', () => {
    const bytes = buildModel({
      opset: 13,
      inputs: [{ name: 'x', dims: [5] }, { name: 'starts', type: I64, dims: [1] }, { name: 'ends', type: I64, dims: [1] }],
      outputs: [{ name: 'y' }],
      nodes: [node('Slice', ['x', 'starts', 'ends'], ['y'])],
    });
    const graph = importOnnx(bytes, { inputValues: { starts: [2], ends: [2 ** 63] } });
    expect(values(runOnCpu(graph, { x: tensorData('f32', [5], [0, 1, 2, 3, 4]) })['y'])).toEqual([2, 3, 4]);
  });

  it('refuse values of the wrong shape or dtype, and values for names that are not inputs', () => {
    expect(() => importOnnx(twoParams, { inputValues: { axes: [1], shape: [4, 6, 1] } })).toThrow(/input 'shape' has dimension 0 fixed at 2 by the model, but the shape given is \[3\]/);
    expect(() => importOnnx(twoParams, { inputValues: { axes: tensorData('f32', [1], [1]) } })).toThrow(/the value given for input 'axes' is f32\[1\], but the model declares it i32\[1\]/);
    expect(() => importOnnx(twoParams, { inputValues: { axes: [1.5] } })).toThrow(/input 'axes' is i32, but value 0 given for it, 1.5, is not an integer/);
    expect(() => importOnnx(twoParams, { inputValues: { k: [1] } })).toThrow(KilnError);
    expect(() => importOnnx(twoParams, { inputValues: { k: [1] } })).toThrow(/values were given for 'k', but the model's inputs are 'x', 'axes', 'shape'/);
  });
});

describe('importModelForFeeds', () => {
  const feeds = { x: x234, axes: tensorData('i32', [1], [2]), shape: tensorData('i32', [2], [3, 2]) };

  it('freezes exactly the inputs the model needs, found again behind those it froze first', () => {
    const { graph, frozen } = importModelForFeeds(decodeModel(chained), feeds);
    expect(frozen).toEqual(['axes', 'shape']);
    expect(graph.inputs.map((v) => v.name)).toEqual(['x']);
    const y = runOnCpu(graph, { x: x234 })['y']!;
    expect(y.shape).toEqual([3, 2]);
    expect(values(y)).toEqual([6, 22, 38, 54, 70, 86]);
  });

  it('freezes nothing when no value is needed, and takes shapes from the feeds', () => {
    const bytes = buildModel({ opset: 13, inputs: [{ name: 'x', dims: ['n', 4] }], outputs: [{ name: 'y' }], nodes: [node('Relu', ['x'], ['y'])] });
    const { graph, frozen } = importModelForFeeds(decodeModel(bytes), { x: tensorData('f32', [3, 4], new Array(12).fill(1)) });
    expect(frozen).toEqual([]);
    expect(graph.inputs[0]!.type.shape).toEqual([3, 4]);
  });

  it('fails with the InputValuesNeededError when a needed input has no feed, and on feeds for non-inputs', () => {
    const e = neededError(() => importModelForFeeds(decodeModel(chained), { x: x234, axes: feeds.axes }));
    expect(e.inputs).toEqual(['shape']);
    expect(() => importModelForFeeds(decodeModel(chained), { ...feeds, z: x234 })).toThrow(/feeds were given for 'z', but the model's inputs are 'x', 'axes', 'shape'/);
  });
});
