// ONNX sequences and optionals, resolved at import, against ONNX Runtime: models whose inputs and
// outputs are tensors and whose sequences live inside (split into a sequence, edit it, read it
// back), and the clear refusal of an output declared a tensor that is a sequence (sequence outputs
// declared as such: sequence-io.test.ts).
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { attr, buildModel, node, OnnxType, subgraph, tensor } from './onnx-builder.js';
import { expectSameAsOrt } from './ort-oracle.js';

const F = OnnxType.FLOAT;
const I64 = OnnxType.INT64;
const BOOL = OnnxType.BOOL;

/** A body input: a float vector of 4. */
const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: F, shape: { dim: [{ dim_value: 4 }] } } } });

describe('sequences', () => {
  // x [3,4] split on axis 1 into [2,1,1]; y inserted at the front, the last erased; returns the
  // element at 1, the length, and the elements joined on axis 1.
  it('SplitToSequence, SequenceInsert, SequenceErase, SequenceAt, SequenceLength, ConcatFromSequence', () => expectSameAsOrt(buildModel({
    opset: 17, inputs: [{ name: 'x', dims: [3, 4] }, { name: 'y', dims: [3, 2] }],
    outputs: [{ name: 'at' }, { name: 'len', type: I64 }, { name: 'cat' }],
    initializers: [tensor('sizes', I64, [3], [2, 1, 1]), tensor('front', I64, [], [0]), tensor('last', I64, [], [-1]), tensor('one', I64, [], [1])],
    nodes: [
      node('SplitToSequence', ['x', 'sizes'], ['s'], { axis: attr.i(1) }),
      node('SequenceInsert', ['s', 'y', 'front'], ['s1']),
      node('SequenceErase', ['s1', 'last'], ['s2']),
      node('SequenceAt', ['s2', 'one'], ['at']),
      node('SequenceLength', ['s2'], ['len']),
      node('ConcatFromSequence', ['s2'], ['cat'], { axis: attr.i(1) }),
    ],
  })));
  it('SplitToSequence without split (keepdims=0) and with a scalar chunk, stacked on a new axis', () => expectSameAsOrt(buildModel({
    opset: 17, inputs: [{ name: 'x', dims: [3, 5] }], outputs: [{ name: 'stacked' }, { name: 'chunks' }],
    initializers: [tensor('chunk', I64, [], [2]), tensor('minus1', I64, [], [-1])],
    nodes: [
      node('SplitToSequence', ['x'], ['s'], { axis: attr.i(0), keepdims: attr.i(0) }),
      node('ConcatFromSequence', ['s'], ['stacked'], { axis: attr.i(-1), new_axis: attr.i(1) }),
      node('SplitToSequence', ['x', 'chunk'], ['c'], { axis: attr.i(1) }),
      node('SequenceAt', ['c', 'minus1'], ['chunks']),
    ],
  })));
  it('SequenceConstruct and SequenceEmpty', () => expectSameAsOrt(buildModel({
    opset: 17, inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [1, 3] }], outputs: [{ name: 'y' }],
    initializers: [tensor('zero', I64, [], [0])],
    nodes: [
      node('SequenceConstruct', ['a', 'b'], ['s']),
      node('SequenceEmpty', [], ['e'], { dtype: attr.i(F) }),
      node('SequenceAt', ['s', 'zero'], ['first']),
      node('SequenceInsert', ['e', 'first'], ['e1']),
      node('SequenceInsert', ['e1', 'b'], ['e2']),
      node('ConcatFromSequence', ['e2'], ['y'], { axis: attr.i(0) }),
    ],
  })));
  // Each element of a split gets t added by the body (imported once per element), then stacked.
  it('SequenceMap over a sequence and a tensor', () => expectSameAsOrt(buildModel({
    opset: 17, inputs: [{ name: 'x', dims: [3, 4] }, { name: 't', dims: [4] }], outputs: [{ name: 'y' }],
    nodes: [
      node('SplitToSequence', ['x'], ['s'], { axis: attr.i(0), keepdims: attr.i(0) }),
      node('SequenceMap', ['s', 't'], ['m'], {
        body: attr.g({ ...subgraph('body', [node('Add', ['xi', 'ti'], ['sum']), node('Mul', ['sum', 'xi'], ['yi'])], [{ name: 'yi', dims: [4] }]), input: [vi('xi'), vi('ti')] }),
      }),
      node('ConcatFromSequence', ['m'], ['y'], { axis: attr.i(0), new_axis: attr.i(1) }),
    ],
  })));
  it('an output declared a tensor that is a sequence is refused clearly', () => {
    const bytes = buildModel({ opset: 17, inputs: [{ name: 'x', dims: [2, 2] }], outputs: [{ name: 's' }], nodes: [node('SplitToSequence', ['x'], ['s'])] });
    // The output is declared a tensor, but its value is a sequence.
    expect(() => importOnnx(bytes)).toThrow(UnsupportedOnnxError);
    expect(() => importOnnx(bytes)).toThrow(/graph output 's' is not a tensor/);
  });
});

describe('optionals', () => {
  it('Optional, OptionalHasElement, OptionalGetElement', () => expectSameAsOrt(buildModel({
    opset: 18, inputs: [{ name: 'x', dims: [2, 3] }], outputs: [{ name: 'has', type: BOOL }, { name: 'none', type: BOOL }, { name: 'y' }],
    nodes: [
      node('Optional', ['x'], ['o']),
      node('OptionalHasElement', ['o'], ['has']),
      node('OptionalHasElement', [''], ['none']),
      node('OptionalGetElement', ['o'], ['v']),
      node('Relu', ['v'], ['y']),
    ],
  })));
});
