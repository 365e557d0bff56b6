// Scan and Loop unrolled at import, against ONNX Runtime: scan axes and directions both ways,
// several states and outputs, and a Loop whose trip count and condition are constants.
import { describe, expect, it } from 'vitest';
import { attr, buildModel, node, OnnxType, subgraph, tensor, type NodeInit } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData } from '../../../src/ir/tensor-data.js';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64;
const BOOL = OnnxType.BOOL;

/** A value info for a subgraph input or output. */
const vi = (name: string, type: number = F, dims?: number[]) => ({
  name, type: { tensor_type: { elem_type: type, ...(dims ? { shape: { dim: dims.map((d) => ({ dim_value: d })) } } : {}) } },
});

/** A body graph with typed inputs. */
function body(nodes: NodeInit[], inputs: object[], outputs: string[], outputTypes: number[] = []): object {
  return { ...subgraph('body', nodes, outputs.map((name) => ({ name }))), input: inputs, output: outputs.map((o, i) => vi(o, outputTypes[i] ?? F)) };
}

describe('Scan', () => {
  // state: running sum [3]; scan input x sliced on axis 1 (reversed); outputs: sum*2 on axis 1 (prepended) and x+sum on axis 0.
  it('scan input axis and direction, two outputs with their own axes and directions', () => expectSameAsOrt(buildModel({
    opset: 16, inputs: [{ name: 's0', dims: [3] }, { name: 'x', dims: [3, 5] }], outputs: [{ name: 's' }, { name: 'y' }, { name: 'z' }],
    nodes: [node('Scan', ['s0', 'x'], ['s', 'y', 'z'], {
      num_scan_inputs: attr.i(1), scan_input_axes: attr.ints([1]), scan_input_directions: attr.ints([1]),
      scan_output_axes: attr.ints([1, 0]), scan_output_directions: attr.ints([1, 0]),
      body: attr.g(body([
        node('Add', ['si', 'xi'], ['so']), node('Add', ['so', 'so'], ['yo']), node('Mul', ['xi', 'so'], ['zo']),
      ], [vi('si', F, [3]), vi('xi', F, [3])], ['so', 'yo', 'zo'])),
    })],
  })));
  it('two scan inputs and no state', () => expectSameAsOrt(buildModel({
    opset: 16, inputs: [{ name: 'a', dims: [4, 2] }, { name: 'b', dims: [2, 4] }], outputs: [{ name: 'y' }],
    nodes: [node('Scan', ['a', 'b'], ['y'], {
      num_scan_inputs: attr.i(2), scan_input_axes: attr.ints([0, -1]),
      body: attr.g(body([node('Sub', ['ai', 'bi'], ['yo'])], [vi('ai', F, [2]), vi('bi', F, [2])], ['yo'])),
    })],
  })));
});

describe('Loop', () => {
  // carried y += i (as float) for 4 iterations; scan output y each time.
  const loop = (trip: number | undefined, cond: boolean) => buildModel({
    opset: 16, inputs: [{ name: 'y0', dims: [2] }], outputs: [{ name: 'y' }, { name: 'ys' }],
    initializers: [
      ...(trip !== undefined ? [tensor('M', I64, [], [trip])] : []),
      tensor('c', BOOL, [], [cond ? 1 : 0]), tensor('lim', I64, [], [2]),
    ],
    nodes: [node('Loop', [trip !== undefined ? 'M' : '', 'c', 'y0'], ['y', 'ys'], {
      body: attr.g(body([
        node('Cast', ['i'], ['fi'], { to: attr.i(F) }), node('Add', ['yi', 'fi'], ['yo']), node('Identity', ['yo'], ['so']),
        node('Less', ['i', 'lim'], ['co']),
      ], [vi('i', I64, []), vi('ci', BOOL, []), vi('yi', F, [2])], ['co', 'yo', 'so'], [BOOL])),
    })],
  });
  it('a constant trip count', () => expectSameAsOrt(loop(5, true)));
  it('ends when its condition (folded at import) turns false', () => expectSameAsOrt(loop(undefined, true)));
  it('a trip count given at run time makes a loop op, and unrolls when its value is given at import', () => {
    const bytes = buildModel({
      opset: 16, inputs: [{ name: 'M', dims: [], type: I64 }, { name: 'y0', dims: [2] }], outputs: [{ name: 'y' }],
      nodes: [node('Loop', ['M', '', 'y0'], ['y'], {
        body: attr.g(body([node('Identity', ['yi'], ['yo']), node('Identity', ['ci'], ['co'])], [vi('i', I64, []), vi('ci', BOOL, []), vi('yi', F, [2])], ['co', 'yo'], [BOOL])),
      }, 'dyn_loop')],
    });
    const dynamic = importOnnx(bytes);
    expect(dynamic.inputs.map((v) => v.name)).toEqual(['M', 'y0']);
    expect(dynamic.nodes.map((n) => n.op)).toContain('loop');
    const g = importOnnx(bytes, { inputValues: { M: tensorData('i32', [], [3]) } });
    expect(g.inputs.map((v) => v.name)).toEqual(['y0']);
    expect(g.nodes.map((n) => n.op)).not.toContain('loop');
  });
});
