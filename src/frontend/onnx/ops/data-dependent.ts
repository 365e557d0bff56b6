// Ops whose output extent depends on the data: NonZero, Unique and NonMaxSuppression, on kiln's
// nonzero, unique and non_max_suppression (CPU reference kernels). Each result extent is a size
// variable of its own, bound when the model runs; the ops after it, on the GPU or the CPU, take
// it as any varying size.
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';

defineOnnxOp('NonZero', (n) => {
  const x = n.input(0);
  if (typeOf(x).shape.length === 0) n.unsupported('a scalar input is not supported (reshape it to [1])');
  return n.b.op('nonzero', [x]);
});

defineOnnxOp('Unique', (n) => {
  const x = n.input(0);
  if (typeOf(x).dtype === 'f16') n.unsupported('float16 input is not supported (its order and equality need the decoded values)');
  const axis = n.attrs.int('axis');
  return n.b.ops('unique', [x], { sorted: n.attrs.int('sorted', 1) !== 0, ...(axis !== undefined ? { axis } : {}) });
});

// The parameters may be given at run time: they do not decide the output's largest extent.
// Absent, max_output_boxes_per_class is 0 (no box is kept), iou_threshold 0, and there is no
// score threshold.
defineOnnxOp('NonMaxSuppression', (n) => {
  const [boxes, scores] = [n.input(0), n.input(1)];
  if (typeOf(boxes).dtype !== 'f32' || typeOf(scores).dtype !== 'f32') n.unsupported(`takes float boxes and scores, got ${typeOf(boxes).dtype} and ${typeOf(scores).dtype}`);
  const maxOut = n.optional(2) ?? n.b.scalar('i32', 0);
  const iou = n.optional(3) ?? n.b.scalar('f32', 0);
  const scoreMin = n.optional(4);
  return n.b.op('non_max_suppression', [boxes, scores, maxOut, iou, ...(scoreMin ? [scoreMin] : [])], { center_point_box: n.attrs.int('center_point_box', 0) !== 0 });
});
