// Resize (opset 10+) and its predecessor Upsample (opsets 7-9).
import { dimsOf } from '../../../ir/types.js';
import { dExactDiv, dimText, isSymbolic } from '../../../ir/size-expr.js';
import { typeOf } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { normalizeAxis } from './helpers.js';

const MODES: Record<string, string> = { nearest: 'nearest', linear: 'linear', bilinear: 'linear', cubic: 'cubic' };

function kilnMode(n: OnnxNode, mode: string): string {
  const m = MODES[mode];
  if (!m) n.unsupported(`mode '${mode}' is not supported (supported: nearest, linear, cubic)`);
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

/**
 * keep_aspect_ratio_policy: one scale for every resized axis, the smallest (not_larger) or the
 * largest (not_smaller) of sizes / extent; each extent becomes round_half_up(in * scale), and
 * the coordinate mapping uses the scale. Returns [scales, sizes] over the resized axes.
 */
function keepAspectRatio(n: OnnxNode, policy: string, extents: readonly number[], sizes: readonly number[]): [number[], number[]] {
  if (policy !== 'not_larger' && policy !== 'not_smaller') return n.fail(`keep_aspect_ratio_policy '${policy}' is not one of stretch, not_larger, not_smaller`);
  if (sizes.length !== extents.length) return n.fail(`sizes [${sizes.join(',')}] must have one entry per resized axis (${extents.length})`);
  const ratios = sizes.map((s, i) => s / extents[i]!);
  const scale = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
  return [extents.map(() => scale), extents.map((d) => Math.floor(d * scale + 0.5))];
}

/** Resize sizes that vary with the sizes, as the scales they are: each a whole multiple of its axis's extent. */
function sizesAsScales(n: OnnxNode, named: readonly number[], policy: string): number[] {
  const dims = dimsOf(typeOf(n.input(0)));
  const sizes = n.dims(3, 'sizes', dims.filter(isSymbolic));
  if (policy !== 'stretch') n.unsupported(`sizes that vary from run to run with keep_aspect_ratio_policy ${policy}`);
  if (sizes.length !== named.length) n.fail(`sizes [${sizes.map(dimText).join(',')}] must have one entry per resized axis (${named.length})`);
  return sizes.map((s, i) => {
    const k = dExactDiv(s, dims[named[i]!]!);
    if (typeof k === 'number' && k >= 1) return k;
    return n.unsupported(`its sizes [${sizes.map(dimText).join(',')}] resize [${dims.map(dimText).join(',')}] by other than a whole multiple of an extent that varies`);
  });
}

defineOnnxOp('Resize', (n) => {
  if (n.opset < 11) return legacyResize(n, n.values(1, 'scales'));
  const x = n.input(0);
  const shape = typeOf(x).shape;
  const coord = n.attrs.string('coordinate_transformation_mode', 'half_pixel');
  const named = (n.attrs.ints('axes') ?? shape.map((_, i) => i)).map((a) => normalizeAxis(n, a, shape.length));
  const policy = n.attrs.string('keep_aspect_ratio_policy', 'stretch');
  // Sizes computed from sizes that vary are followed where each is a whole multiple of its axis's
  // extent: the same resize as that scale (ONNX maps coordinates by out/in when sizes are given).
  const varyingSizes = n.variesWithSizes(3, 'sizes') ? sizesAsScales(n, named, policy) : undefined;
  let scales = varyingSizes ?? n.optionalValues(2, 'scales') ?? [];
  let sizes = varyingSizes ? [] : n.optionalValues(3, 'sizes') ?? [];
  if (sizes.length && policy !== 'stretch') [scales, sizes] = keepAspectRatio(n, policy, named.map((a) => shape[a]!), sizes);
  let roi = coord === 'tf_crop_and_resize' ? n.optionalValues(1, 'roi') ?? [] : [];
  if (roi.length && roi.length !== 2 * named.length) n.fail(`roi [${roi.join(',')}] must hold a start and an end per resized axis (${named.length})`);
  if (n.attrs.ints('axes')) {
    // Scales, sizes or roi for some axes only: spell them out for every axis.
    if (scales.length) scales = shape.map((_, i) => (named.includes(i) ? scales[named.indexOf(i)]! : 1));
    if (sizes.length) sizes = shape.map((d, i) => (named.includes(i) ? sizes[named.indexOf(i)]! : d));
    const k = named.length;
    if (roi.length) roi = [...shape.map((_, i) => (named.includes(i) ? roi[named.indexOf(i)]! : 0)), ...shape.map((_, i) => (named.includes(i) ? roi[k + named.indexOf(i)]! : 1))];
  }
  if (coord === 'tf_crop_and_resize' && !roi.length) n.fail('tf_crop_and_resize needs its roi input');
  const mode = kilnMode(n, n.attrs.string('mode', 'nearest'));
  const antialias = n.attrs.int('antialias', 0) !== 0 && mode !== 'nearest';
  return n.b.op('resize', [x], {
    mode, scales, sizes, coordinate_transformation_mode: coord,
    nearest_mode: n.attrs.string('nearest_mode', 'round_prefer_floor'),
    ...(antialias ? { antialias: 1 } : {}),
    ...(roi.length ? { roi, extrapolation_value: n.attrs.float('extrapolation_value', 0) } : {}),
    ...(mode === 'cubic' ? { cubic_coeff_a: n.attrs.float('cubic_coeff_a', -0.75), exclude_outside: n.attrs.int('exclude_outside', 0) } : {}),
  });
});
