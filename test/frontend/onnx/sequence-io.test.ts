// Sequences and optionals as graph inputs and outputs: the importer's layout of them, the clear
// refusal of a sequence input whose length is not given, and the layout kept by a compiled
// artifact, which reassembles the model's outputs as the model declares them.
import { describe, expect, it } from 'vitest';
import { importModel, importModelForFeeds, importModelWithLayout, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { decodeModel } from '../../../src/frontend/onnx/proto.js';
import { compile } from '../../../src/compiler.js';
import { saveArtifact } from '../../../src/artifact-writer/folder.js';
import { loadArtifactDir } from '../../../src/runtime/artifact-node.js';
import { InferenceSession } from '../../../src/runtime/inference-session.js';
import { assembleOutputs, flattenInputs } from '../../../src/runtime/io-layout.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { compileSegmented } from '../../../src/compiler.js';
import type { TensorData } from '../../../src/ir/tensor-data.js';
import { attr, encodeModelObject, modelObject, node, OnnxType } from './onnx-builder.js';
import { useGpu } from '../../helpers/gpu.js';
import { editManifest, tempDir } from '../../runtime/artifact-fixture.js';

const F = OnnxType.FLOAT;
const tensorType = (dims: (number | string)[]) => ({ tensor_type: { elem_type: F, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } });
const seqType = (dims: (number | string)[]) => ({ sequence_type: { elem_type: tensorType(dims) } });
const optType = (inner: object) => ({ optional_type: { elem_type: inner } });

/** A model built with onnx-builder whose inputs and outputs are typed as given. */
function model(inputs: [string, object][], outputs: [string, object][], nodes: ReturnType<typeof node>[]) {
  const m = modelObject({ opset: 18, inputs: [], outputs: [], nodes });
  const graph = m['graph'] as Record<string, unknown>;
  graph['input'] = inputs.map(([name, type]) => ({ name, type }));
  graph['output'] = outputs.map(([name, type]) => ({ name, type }));
  return decodeModel(encodeModelObject(m));
}

const f32 = (shape: number[], values: number[]): TensorData => ({ dtype: 'f32', shape, data: Float32Array.from(values) });

// x [2,3] split into its three columns; an optional without a value; relu(x).
const splitModel = () => model(
  [['x', tensorType([2, 3])]],
  [['cols', seqType([2, 1])], ['nothing', optType(tensorType([2]))], ['y', tensorType([2, 3])]],
  [node('SplitToSequence', ['x'], ['cols'], { axis: attr.i(1) }), node('Optional', [], ['nothing']), node('Relu', ['x'], ['y'])],
);

// The items of a sequence joined, and whether an optional holds a value.
const joinModel = () => model(
  [['xs', seqType(['N'])], ['maybe', optType(tensorType([2]))]],
  [['joined', tensorType(['M'])], ['has', { tensor_type: { elem_type: OnnxType.BOOL, shape: { dim: [] } } }]],
  [node('ConcatFromSequence', ['xs'], ['joined'], { axis: attr.i(0) }), node('OptionalHasElement', ['maybe'], ['has'])],
);

describe('sequence and optional outputs', () => {
  it('a sequence output is its items, an absent optional none, in the layout', () => {
    const { graph, layout } = importModelWithLayout(splitModel());
    expect(layout.outputs).toEqual([
      { name: 'cols', kind: 'sequence', items: ['cols_0', 'cols_1', 'cols_2'] },
      { name: 'nothing', kind: 'optional', items: [], holds: 'none' },
      { name: 'y', kind: 'tensor', items: ['y'] },
    ]);
    expect(graph.outputs.map((v) => v.name)).toEqual(['cols_0', 'cols_1', 'cols_2', 'y']);
    expect(layout.inputs).toEqual([{ name: 'x', kind: 'tensor', items: ['x'] }]);
  });
});

describe('sequence and optional inputs', () => {
  it('are refused clearly without their item shapes, naming the input', () => {
    expect(() => importModel(joinModel())).toThrow(UnsupportedOnnxError);
    expect(() => importModel(joinModel())).toThrow(/graph input 'xs' is a sequence, whose length and item shapes kiln fixes when it compiles/);
  });

  it('take their length, item shapes and presence from item shapes', () => {
    const { graph, layout } = importModelWithLayout(joinModel(), { itemShapes: { xs: [[2], [3]], maybe: null } });
    expect(layout.inputs).toEqual([
      { name: 'xs', kind: 'sequence', items: ['xs_0', 'xs_1'] },
      { name: 'maybe', kind: 'optional', items: [], holds: 'none' },
    ]);
    expect(graph.inputs.map((v) => `${v.name}: [${v.type.shape.join(',')}]`)).toEqual(['xs_0: [2]', 'xs_1: [3]']);
  });

  it('item shapes for a tensor input are an error naming it', () => {
    expect(() => importModel(splitModel(), { itemShapes: { x: [[2, 3]] } })).toThrow(/item shapes were given for 'x', which is not a sequence or optional input/);
  });

  it('an item shape the model contradicts is an error naming the item', () => {
    const m = model([['xs', seqType([2])]], [['y', tensorType([4])]], [node('ConcatFromSequence', ['xs'], ['y'], { axis: attr.i(0) })]);
    expect(() => importModel(m, { itemShapes: { xs: [[2], [3]] } })).toThrow(/input 'xs_1' has dimension 0 fixed at 2 by the model/);
  });
});

describe('on the device', () => {
  const gpu = useGpu();

  it('feeds a sequence and an optional from the feeds and runs', async () => {
    const feeds = { xs: [f32([2], [1, 2]), f32([3], [3, 4, 5])], maybe: f32([2], [7, 8]) };
    const { graph, layout } = importModelForFeeds(joinModel(), feeds);
    expect(layout.inputs[1]).toEqual({ name: 'maybe', kind: 'optional', items: ['maybe'], holds: 'tensor' });
    const session = await SegmentedSession.create(gpu(), compileSegmented(graph));
    try {
      const out = assembleOutputs(layout.outputs, await session.run(flattenInputs(layout.inputs, feeds)));
      expect(Array.from((out['joined'] as TensorData).data)).toEqual([1, 2, 3, 4, 5]);
      expect(Array.from((out['has'] as TensorData).data)).toEqual([1]);
    } finally {
      session.destroy();
    }
  });

  it('a compiled artifact keeps the layout and reassembles the outputs', async () => {
    const { graph, layout } = importModelWithLayout(splitModel());
    const dir = await tempDir('kiln-sequence-');
    await saveArtifact(dir, [{ program: compile(graph) }], { layout });
    const artifact = await loadArtifactDir(dir);
    expect(artifact.manifest.layout).toEqual(layout);
    const session = await InferenceSession.fromArtifact(artifact, { device: gpu() });
    try {
      const x = f32([2, 3], [1, -2, 3, -4, 5, -6]);
      const out = assembleOutputs(artifact.manifest.layout!.outputs, await session.run(flattenInputs(artifact.manifest.layout!.inputs, { x })));
      const cols = out['cols'] as readonly TensorData[];
      expect(cols.map((t) => [t.shape, Array.from(t.data)])).toEqual([[[2, 1], [1, -4]], [[2, 1], [-2, 5]], [[2, 1], [3, -6]]]);
      expect(out['nothing']).toBeNull();
      expect(Array.from((out['y'] as TensorData).data)).toEqual([1, 0, 3, 0, 5, 0]);
    } finally {
      await session.release();
    }
  });

  it('an artifact whose layout does not match its program is refused', async () => {
    const { graph, layout } = importModelWithLayout(splitModel());
    const dir = await tempDir('kiln-sequence-');
    await saveArtifact(dir, [{ program: compile(graph) }], { layout });
    await editManifest(dir, (m) => { m.layout.outputs[0].items.pop(); });
    await expect(loadArtifactDir(dir)).rejects.toThrow(/layout\.outputs does not name the program's outputs/);
  });

  it('an artifact of tensors only writes no layout', async () => {
    const m = model([['x', tensorType([2])]], [['y', tensorType([2])]], [node('Relu', ['x'], ['y'])]);
    const { graph, layout } = importModelWithLayout(m);
    const dir = await tempDir('kiln-sequence-');
    await saveArtifact(dir, [{ program: compile(graph) }], { layout });
    expect((await loadArtifactDir(dir)).manifest.layout).toBeUndefined();
  });
});
