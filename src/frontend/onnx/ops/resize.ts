// Resize (opset 10+) and its predecessor Upsample (opsets 7-9).
import { typeOf } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { normalizeAxis } from './helpers.js';

const MODES: Record<string, string> = { nearest: 'nearest', linear: 'linear', bilinear: 'linear' };

function kilnMode(n: OnnxNode, mode: string): string {
  const m = MODES[mode];
  if (!m) n.unsupported(`mode '${mode}' is not supported (supported: nearest, linear)`);
  return m;
}

/**
 * Before Resize-11 the source coordinate was out / scale ("asymmetric") and nearest picked
 * floor when enlarging, ceil when shrinking (ONNX Runtime's rule for those opsets).
 */
function legacyResize(n: OnnxNode, scales: number[]) {
  const x = n.input(0);
  const rank = typeOf(x).shape.length;
  if (scales.length !== rank) n.fail(`scales [${scales.join(',')}] must have one entry per dimension (${rank})`);
  const resized = scales.filter((s) => s !== 1);
  if (resized.some((s) => s < 1) && resized.some((s) => s > 1)) n.unsupported(`scales [${scales.join(',')}] enlarge one axis and shrink another`);
  return n.b.op('resize', [x], {
    mode: kilnMode(n, n.attrs.string('mode', 'nearest')), scales,
    coordinate_transformation_mode: 'asymmetric', nearest_mode: resized.some((s) => s < 1) ? 'ceil' : 'floor',
  });
}

defineOnnxOp('Upsample', (n) => legacyResize(n, n.opset < 9 ? n.attrs.floats('scales', []) : n.values(1, 'scales')));

defineOnnxOp('Resize', (n) => {
  if (n.opset < 11) return legacyResize(n, n.values(1, 'scales'));
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const coord = n.attrs.string('coordinate_transformation_mode', 'half_pixel');
  if (coord === 'tf_crop_and_resize' || coord === 'tf_half_pixel_for_nn' || coord === 'half_pixel_symmetric') {
    n.unsupported(`coordinate_transformation_mode '${coord}' is not supported`);
  }
  if (n.attrs.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') n.unsupported('keep_aspect_ratio_policy other than stretch is not supported');
  let scales = n.optionalValues(2, 'scales') ?? [];
  let sizes = n.optionalValues(3, 'sizes') ?? [];
  const axes = n.attrs.ints('axes');
  if (axes) {
    // Scales or sizes for some axes only: spell them out for every axis.
    const named = axes.map((a) => normalizeAxis(n, a, shape.length));
    if (scales.length) scales = shape.map((_, i) => (named.includes(i) ? scales[named.indexOf(i)]! : 1));
    if (sizes.length) sizes = shape.map((d, i) => (named.includes(i) ? sizes[named.indexOf(i)]! : d));
  }
  const mode = kilnMode(n, n.attrs.string('mode', 'nearest'));
  if (n.attrs.int('antialias', 0) !== 0 && mode === 'linear') {
    const shrinks = scales.length ? scales.some((s) => s < 1) : sizes.some((s, i) => s < shape[i]!);
    if (shrinks) n.unsupported('antialiased downscaling is not supported');
  }
  return n.b.op('resize', [x], {
    mode, scales, sizes, coordinate_transformation_mode: coord,
    nearest_mode: n.attrs.string('nearest_mode', 'round_prefer_floor'),
  });
});
