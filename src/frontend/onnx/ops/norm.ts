// BatchNormalization, InstanceNormalization, LayerNormalization (inference forms).
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';
import { castTo, reshapeTo } from './helpers.js';

defineOnnxOp('BatchNormalization', (n) => {
  if (n.attrs.int('training_mode', 0) !== 0) n.unsupported('training_mode=1 is not supported (kiln imports models for inference)');
  if (n.opset < 9 && n.attrs.int('spatial', 1) === 0) n.unsupported('spatial=0 (per-activation statistics) is not supported');
  for (let i = 1; i < n.outputCount; i++) {
    if (n.outputUsed(i)) n.unsupported(`its training output ${i} (running statistics) is not supported`);
  }
  const x = n.input(0);
  const dtype = typeOf(x).dtype;
  // From opset 15 the statistics may have another float type than X.
  const params = [1, 2, 3, 4].map((i) => castTo(n.b, n.input(i), dtype));
  return [n.b.op('batch_norm', [x, ...params], { epsilon: n.attrs.float('epsilon', 1e-5) })];
});

// Normalises each (sample, channel) over its spatial dims: layer_norm from axis 2, then the
// per-channel scale and bias.
defineOnnxOp('InstanceNormalization', (n) => {
  const x = n.input(0);
  const shape = typeOf(x).shape;
  if (shape.length < 3) n.fail(`needs an input [N, C, spatial...], got rank ${shape.length}`);
  const perChannel = [shape[1]!, ...new Array<number>(shape.length - 2).fill(1)];
  const normed = n.b.op('layer_norm', [x], { axis: 2, epsilon: n.attrs.float('epsilon', 1e-5) });
  const scaled = n.b.op('mul', [normed, reshapeTo(n.b, n.input(1), perChannel)]);
  return n.b.op('add', [scaled, reshapeTo(n.b, n.input(2), perChannel)]);
});

defineOnnxOp('LayerNormalization', (n) => {
  for (let i = 1; i < n.outputCount; i++) {
    if (n.outputUsed(i)) n.unsupported(`its output ${i} (${i === 1 ? 'Mean' : 'InvStdDev'}) is not supported`);
  }
  const x = n.input(0);
  const dtype = typeOf(x).dtype;
  const bias = n.optional(2);
  const params = [castTo(n.b, n.input(1), dtype), ...(bias ? [castTo(n.b, bias, dtype)] : [])];
  return [n.b.op('layer_norm', [x, ...params], { axis: n.attrs.int('axis', -1), epsilon: n.attrs.float('epsilon', 1e-5) })];
});
