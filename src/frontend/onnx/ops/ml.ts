// ai.onnx.ml ops: tensor ops in other words, and TreeEnsemble and LabelEncoder as CPU ops.
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';
import { TREE_AGGREGATES, TREE_MODES } from '../../../ir/ops/tree-ensemble.js';
import { stringTensor, tensorData, type TensorData } from '../../../ir/tensor-data.js';
import { constValues, readTensor } from '../tensor.js';
import { castTo, reshapeTo, scalarLike } from './helpers.js';

// Picks elements along the last axis by index; a vector input is read as one row ([1, N]).
defineOnnxOp('ai.onnx.ml.ArrayFeatureExtractor', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const rows = shape.length === 1 ? reshapeTo(n.b, x, [1, shape[0]!]) : x;
  const indices = castTo(n.b, n.input(1), 'i32');
  return n.b.op('gather', [rows, reshapeTo(n.b, indices, [typeOf(indices).shape.reduce((a, d) => a * (d as number), 1)])], { axis: typeOf(rows).shape.length - 1 });
});

// 1 where X exceeds the threshold, else 0, in X's dtype.
defineOnnxOp('ai.onnx.ml.Binarizer', (n) => {
  const x = n.input(0);
  const above = n.b.op('greater', [x, scalarLike(n.b, x, n.attrs.float('threshold', 0))]);
  return castTo(n.b, above, typeOf(x).dtype);
});

// TreeEnsemble (ai.onnx.ml 5) as kiln's tree_ensemble CPU op, with a softmax or logistic after it.
defineOnnxOp('ai.onnx.ml.TreeEnsemble', (n) => {
  const x = n.input(0);
  if (typeOf(x).dtype !== 'f32') n.unsupported(`takes f32 (or f64) features, got ${typeOf(x).dtype}`);
  const tensor = (name: string) => {
    const t = n.attrs.tensor(name);
    return t ? constValues(readTensor(t, undefined, `${n.name}:${name}`)) : undefined;
  };
  const required = <T>(name: string, v: T | undefined): T => v ?? n.fail(`needs the attribute '${name}'`);
  const ints = (name: string) => required(name, n.attrs.ints(name));
  const modes = required('nodes_modes', tensor('nodes_modes'));
  // Each member node's set, in node order, separated by NaN.
  const members = tensor('membership_values') ?? [];
  const starts: number[] = [];
  const values: number[] = [];
  let at = 0;
  for (const m of modes) {
    starts.push(values.length);
    if (TREE_MODES[m] !== 'member') continue;
    if (at > members.length) n.fail('membership_values holds fewer sets than there are member nodes');
    for (; at < members.length && !Number.isNaN(members[at]); at++) values.push(members[at]!);
    at++;
  }
  const aggregate = TREE_AGGREGATES[n.attrs.int('aggregate_function', 1)] ?? n.fail(`aggregate_function ${n.attrs.int('aggregate_function')} is not 0..3`);
  const y = n.b.op('tree_ensemble', [x], {
    aggregate, n_targets: required('n_targets', n.attrs.int('n_targets')), tree_roots: ints('tree_roots'),
    nodes_featureids: ints('nodes_featureids'), nodes_modes: modes, nodes_splits: required('nodes_splits', tensor('nodes_splits')),
    nodes_truenodeids: ints('nodes_truenodeids'), nodes_trueleafs: ints('nodes_trueleafs'),
    nodes_falsenodeids: ints('nodes_falsenodeids'), nodes_falseleafs: ints('nodes_falseleafs'),
    nodes_missing_value_tracks_true: n.attrs.ints('nodes_missing_value_tracks_true', []),
    member_starts: values.length ? starts : [], member_values: values,
    leaf_targetids: ints('leaf_targetids'), leaf_weights: required('leaf_weights', tensor('leaf_weights')),
  });
  const post = n.attrs.int('post_transform', 0);
  if (post === 1) return n.b.op('softmax', [y], { axis: -1 });
  if (post === 2) return n.b.op('sigmoid', [y]);
  return post === 0 ? y : n.unsupported(`post_transform ${post} (${['NONE', 'SOFTMAX', 'LOGISTIC', 'SOFTMAX_ZERO', 'PROBIT'][post] ?? '?'}) is not supported (NONE, SOFTMAX and LOGISTIC are)`);
});

// LabelEncoder (ai.onnx.ml 2 to 4) as kiln's label_encoder CPU op. Keys, values and the default
// come as typed lists (keys_strings, values_int64s, default_float...) or, from version 4, tensors.
defineOnnxOp('ai.onnx.ml.LabelEncoder', (n) => {
  const x = n.input(0);
  /** The `role` list of the node, of whichever type it is given in, as a tensor. */
  const list = (role: 'keys' | 'values'): TensorData | undefined => {
    const t = n.attrs.tensor(`${role}_tensor`);
    if (t) return readTensor(t, undefined, `${n.name}:${role}`).data;
    const strings = n.attrs.strings(`${role}_strings`);
    if (strings) return stringTensor([strings.length], strings);
    const ints = n.attrs.ints(`${role}_int64s`);
    if (ints) return tensorData('i32', [ints.length], ints);
    const floats = n.attrs.floats(`${role}_floats`);
    return floats ? tensorData('f32', [floats.length], floats) : undefined;
  };
  const keys = list('keys') ?? n.fail('needs keys (keys_strings, keys_int64s, keys_floats or keys_tensor)');
  const values = list('values') ?? n.fail('needs values (values_strings, values_int64s, values_floats or values_tensor)');
  if (keys.dtype !== typeOf(x).dtype) n.fail(`its ${keys.dtype} keys cannot match a ${typeOf(x).dtype} input`);
  const given = n.attrs.tensor('default_tensor');
  // ONNX's defaults: "_Unused", -1 and -0.0.
  const dflt = given ? readTensor(given, undefined, `${n.name}:default`).data
    : values.dtype === 'string' ? stringTensor([1], [n.attrs.string('default_string', '_Unused')])
      : values.dtype === 'f32' ? tensorData('f32', [1], [n.attrs.float('default_float', -0)])
        : tensorData(values.dtype, [1], [n.attrs.int('default_int64', -1)]);
  return n.b.op('label_encoder', [x], { keys, values, default: dflt });
});
