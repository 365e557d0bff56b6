// ai.onnx.ml ops that are tensor ops in other words.
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';
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
