import { OpTypeError } from '../errors.js';
import { isFloat, numel, type Shape } from '../types.js';
import { typedAttrs, type Attrs, type AttrsOf } from '../attrs.js';
import { defineOp } from './registry.js';
import { dFloorDiv, dimRange, dMul, dSub, isSymbolic, type Dim } from '../size-expr.js';
import { largest } from './shape-util.js';

/** resize's attributes (ONNX Resize's, with scales or sizes given as attributes). */
export const resizeAttrs = {
  mode: { kind: 'string', default: 'nearest' },
  scales: { kind: 'floats', default: [] },
  sizes: { kind: 'ints', default: [] },
  coordinate_transformation_mode: { kind: 'string', default: 'half_pixel' },
  nearest_mode: { kind: 'string', default: 'round_prefer_floor' },
  cubic_coeff_a: { kind: 'float', default: -0.75 },
  exclude_outside: { kind: 'int', default: 0 },
  roi: { kind: 'floats', default: [] },
  extrapolation_value: { kind: 'float', default: 0 },
  antialias: { kind: 'int', default: 0 },
} as const;
type ResizeAttrs = AttrsOf<typeof resizeAttrs>;

const MODES = ['nearest', 'linear', 'cubic'];
const COORDINATE_MODES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'half_pixel_symmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/**
 * How one resized axis maps an output index x to the input: the source coordinate is the
 * exact rational (x * a + b) / d. Kept in integers so that the CPU reference and every GPU
 * agree bit for bit on which input element a nearest lookup picks (float rounding would flip
 * indices at ties, differently per device). For nearest, the rounding mode is folded in so
 * that the index is min(floor(max(x * a + b, 0) / d), inSize - 1).
 */
export interface ResizeAxisMap {
  readonly inSize: number;
  readonly outSize: number;
  readonly a: number;
  readonly b: number;
  readonly d: number;
  /**
   * tf_crop_and_resize only: the unrounded source coordinate (x * a + b) / d, d > 0. Outputs
   * whose coordinate lies outside [0, inSize - 1] on either axis take the extrapolation value.
   */
  readonly crop?: { readonly a: number; readonly b: number; readonly d: number };
  /** The axis's scale out/in as given (p/q); an antialiased filter stretches by 1/scale when shrinking. */
  readonly scale: number;
}

/** A resize seen as [batch, H, W]: the last two dims are resized, the leading ones kept. */
export interface ResizePlan {
  readonly mode: 'nearest' | 'linear' | 'cubic';
  /** Cubic only: the kernel's coefficient A, and whether taps outside the input are dropped (weights renormalised). */
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  /** Linear and cubic: when shrinking, the filter widens by 1/scale so every input contributes (antialiasing). */
  readonly antialias: boolean;
  /** tf_crop_and_resize: the value of outputs outside the input (see ResizeAxisMap.crop). */
  readonly extrapolation: number;
  readonly batch: number;
  readonly h: ResizeAxisMap;
  readonly w: ResizeAxisMap;
  readonly shape: number[];
}

/** Integer coordinates must stay below this so that the kernels' i32 arithmetic cannot overflow. */
const I32_LIMIT = 2 ** 31 - 1;

/**
 * A positive scale as a fraction p/q: the simplest continued-fraction convergent within f32
 * precision of `s`, so 0.6 (or ONNX's f32 0.6000000238) is 3/5 and 1.3333334 is 4/3.
 */
export function scaleFraction(s: number): [number, number] {
  let [h0, h1, k0, k1] = [0, 1, 1, 0];
  let x = s;
  for (let i = 0; i < 64; i++) {
    const a = Math.floor(x);
    const [h2, k2] = [a * h1 + h0, a * k1 + k0];
    if (k2 > 2 ** 20) break;
    [h0, h1, k0, k1] = [h1, h2, k1, k2];
    if (Math.abs(h1 / k1 - s) <= s * 2 ** -24) break;
    const frac = x - a;
    if (frac < 1e-15) break;
    x = 1 / frac;
  }
  if (h1 === 0) throw new OpTypeError(`scale ${s} is too small to resize by`);
  return [h1, k1];
}

function gcd(a: number, b: number): number {
  a = Math.abs(a); b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/** A number as a fraction p/q (q > 0), exact for the f32 values a model holds. */
function fraction(v: number): [number, number] {
  if (v === 0) return [0, 1];
  const [p, q] = scaleFraction(Math.abs(v));
  return [v < 0 ? -p : p, q];
}

/**
 * tf_crop_and_resize: the output spans the region of interest [start, end] (fractions of the
 * input, mapped to [start (in - 1), end (in - 1)]); out_width = in p / q is unrounded, as in
 * ONNX: start (in - 1) + x (end - start) (in - 1) / (out_width - 1), or the region's centre for
 * out_width 1.
 */
function cropMap(inSize: number, p: number, q: number, roi: readonly [number, number]): [number, number, number] {
  const [[sn, sd], [en, ed]] = [fraction(roi[0]), fraction(roi[1])];
  const span = p * inSize - q; // (out_width - 1) q
  if (span === 0) return [0, (sn * ed + en * sd) * (inSize - 1), 2 * sd * ed];
  const abd: [number, number, number] = [(en * sd - sn * ed) * (inSize - 1) * q, sn * ed * (inSize - 1) * span, sd * ed * span];
  return span < 0 ? (abd.map((v) => -v) as [number, number, number]) : abd;
}

/** The source-coordinate fraction (x * a + b) / d of one axis, before any rounding. */
function coordinateMap(inSize: number, outSize: number, p: number, q: number, mode: string, roi: readonly [number, number]): [number, number, number] {
  if (mode === 'tf_crop_and_resize') return cropMap(inSize, p, q, roi);
  // p / q is the scale out/in; half_pixel is ((2x + 1) q - p) / (2p).
  if (mode === 'asymmetric') return [q, 0, p];
  // (x + 0.5) / scale: ((2x + 1) q) / (2p).
  if (mode === 'tf_half_pixel_for_nn') return [2 * q, q, 2 * p];
  // half_pixel shifted to keep the image centred when in * scale is not whole: offset + (x + 0.5) / scale - 0.5,
  // offset = in/2 (1 - out/(in scale)), that is ((2x + 1) q + in p - out q - p) / (2p).
  if (mode === 'half_pixel_symmetric') return [2 * q, inSize * p - outSize * q + q - p, 2 * p];
  if (mode === 'half_pixel' || (mode === 'pytorch_half_pixel' && outSize > 1)) return [2 * q, q - p, 2 * p];
  // align_corners divides by length_resized - 1, where length_resized is in * scale unrounded
  // (ONNX's definition; out when sizes are given, p / q = out / in): (in - 1) q / (in p - q).
  if (mode === 'align_corners' && outSize > 1) return [(inSize - 1) * q, 0, inSize * p - q];
  if (mode === 'pytorch_half_pixel') return [0, -1, 2]; // a single output sits at -0.5 (index 0 once clamped)
  return [0, 0, 1]; // align_corners: a single output reads index 0
}

/** Folds a nearest_mode into the fraction so that the index is floor(max(x * a + b, 0) / d). */
function foldNearest([a, b, d]: [number, number, number], mode: string): [number, number, number] {
  switch (mode) {
    case 'floor': return [a, b, d];
    case 'ceil': return [a, b + d - 1, d];
    case 'round_prefer_ceil': return [2 * a, 2 * b + d, 2 * d];
    default: return [2 * a, 2 * b + d - 1, 2 * d]; // round_prefer_floor: ties go down
  }
}

/** Divides a fraction's three terms by their common divisor, checking they fit the kernels' i32 arithmetic. */
function reduced(abd: [number, number, number], inSize: number, outSize: number, pq: [number, number]): { a: number; b: number; d: number } {
  const g = gcd(gcd(abd[0], abd[1]), abd[2]) || 1;
  const [a, b, d] = abd.map((v) => v / g) as [number, number, number];
  const reach = Math.max(Math.abs(b), Math.abs(Math.max(outSize - 1, 0) * a + b), Math.max(inSize - 1, 0) * d, d);
  if (reach > I32_LIMIT) {
    throw new OpTypeError(`resizing an axis from ${inSize} to ${outSize} at scale ${pq[0]}/${pq[1]} needs coordinates beyond 32-bit integers (give sizes, or a simpler scale)`);
  }
  return { a, b, d };
}

function axisMap(inSize: number, outSize: number, pq: [number, number], attrs: ResizeAttrs, roi: readonly [number, number]): ResizeAxisMap {
  const mode = attrs.coordinate_transformation_mode;
  const raw = coordinateMap(inSize, outSize, pq[0], pq[1], mode, roi);
  const map = reduced(attrs.mode === 'nearest' ? foldNearest(raw, attrs.nearest_mode) : raw, inSize, outSize, pq);
  return { inSize, outSize, ...map, scale: pq[0] / pq[1], ...(mode === 'tf_crop_and_resize' ? { crop: reduced(raw, inSize, outSize, pq) } : {}) };
}

/** Whether output index x of a cropping axis reads inside the input (else: the extrapolation value). */
export function insideCrop(m: ResizeAxisMap, x: number): boolean {
  if (!m.crop) return true;
  const num = x * m.crop.a + m.crop.b;
  return num >= 0 && num <= (m.inSize - 1) * m.crop.d;
}

function oneOf(name: string, v: string, allowed: readonly string[]): void {
  if (!allowed.includes(v)) throw new OpTypeError(`${name} "${v}" is not supported (supported: ${allowed.join(', ')})`);
}

/**
 * ONNX Resize on the last two dims (nearest, bilinear for `linear`, bicubic for `cubic`). `scales` or `sizes`
 * name the last 1 or 2 dims, or every dim with the leading ones unchanged. The output extent is
 * floor(in * scale), and the coordinate mapping uses the given scale (as ONNX Runtime and
 * PyTorch do), or out/in when sizes are given. Given both, sizes are the output extents and
 * scales the mapping (ONNX's keep_aspect_ratio_policy rounds in * scale to the nearest).
 */
export function resizePlan(shape: Shape, attrs: Attrs): ResizePlan {
  const a = typedAttrs(attrs, resizeAttrs, 'resize');
  const mode = a.mode;
  oneOf('mode', mode, MODES);
  oneOf('coordinate_transformation_mode', a.coordinate_transformation_mode, COORDINATE_MODES);
  oneOf('nearest_mode', a.nearest_mode, NEAREST_MODES);
  const scales = a.scales;
  const sizes = a.sizes;
  const rank = shape.length;
  if (scales.length === 0 && sizes.length === 0) throw new OpTypeError('needs scales or sizes');
  if (scales.length && sizes.length && scales.length !== sizes.length) throw new OpTypeError(`scales [${scales.join(',')}] and sizes [${sizes.join(',')}] name different dims`);
  const given = scales.length ? scales : sizes;
  if (rank === 0) throw new OpTypeError('cannot resize a scalar');
  if (given.length > rank) throw new OpTypeError(`${scales.length ? 'scales' : 'sizes'} [${given.join(',')}] name more dims than [${shape.join(',')}] has`);
  const lead = given.length - Math.min(given.length, 2);
  for (let i = 0; i < lead; i++) {
    const keeps = (!scales.length || scales[i] === 1) && (!sizes.length || sizes[i] === shape[rank - given.length + i]);
    if (!keeps) throw new OpTypeError(`only the last two dims can be resized, but ${scales.length ? 'scales' : 'sizes'} [${given.join(',')}] change dim ${rank - given.length + i} of [${shape.join(',')}]`);
  }
  if (scales.some((s) => !(s > 0) || !Number.isFinite(s))) throw new OpTypeError(`scales [${scales.join(',')}] must be positive`);
  if (sizes.some((s) => s < 0)) throw new OpTypeError(`sizes [${sizes.join(',')}] have a negative extent`);

  // Per resized dim (H then W), the output extent and the scale as a fraction p/q.
  const inH = rank >= 2 ? shape[rank - 2]! : 1;
  const inW = shape[rank - 1]!;
  const spec = (inSize: number, k: number): { out: number; pq: [number, number] } => {
    const j = given.length - k; // k = 1 for W, 2 for H
    if (j < 0) return { out: inSize, pq: [1, 1] };
    if (scales.length) {
      const pq = scaleFraction(scales[j]!);
      return { out: sizes.length ? sizes[j]! : Math.floor((inSize * pq[0]) / pq[1]), pq };
    }
    const out = sizes[j]!;
    if (inSize === 0 && out > 0) throw new OpTypeError(`cannot resize an empty dim of [${shape.join(',')}] to ${out}`);
    return { out, pq: inSize === 0 ? [1, 1] : [out, inSize] };
  };
  const hs = spec(inH, 2);
  const ws = spec(inW, 1);
  const outShape = rank >= 2 ? [...shape.slice(0, rank - 2), hs.out, ws.out] : [ws.out];
  // The region of interest of each resized dim (tf_crop_and_resize): [starts..., ends...] over every dim.
  const roi = a.roi;
  const crop = a.coordinate_transformation_mode === 'tf_crop_and_resize';
  if (crop && roi.length !== 2 * rank) throw new OpTypeError(`tf_crop_and_resize needs roi with ${2 * rank} values (starts and ends of every dim), got [${roi.join(',')}]`);
  for (let i = 0; crop && i < rank - Math.min(rank, 2); i++) {
    if (roi[i] !== 0 || roi[rank + i] !== 1) throw new OpTypeError(`only the last two dims can be cropped, but roi [${roi.join(',')}] crops dim ${i}`);
  }
  const roiOf = (dim: number): [number, number] => (crop && dim >= 0 ? [roi[dim]!, roi[rank + dim]!] : [0, 1]);
  return {
    mode: mode as ResizePlan['mode'],
    extrapolation: a.extrapolation_value,
    cubicA: a.cubic_coeff_a,
    excludeOutside: a.exclude_outside !== 0,
    antialias: a.antialias !== 0 && mode !== 'nearest',
    batch: numel(shape.slice(0, Math.max(0, rank - 2))),
    h: axisMap(inH, hs.out, hs.pq, a, roiOf(rank - 2)),
    w: axisMap(inW, ws.out, ws.pq, a, roiOf(rank - 1)),
    shape: outShape,
  };
}

/** The input index a nearest resize reads for output index x. */
export function nearestIndex(m: ResizeAxisMap, x: number): number {
  return Math.min(Math.floor(Math.max(x * m.a + m.b, 0) / m.d), m.inSize - 1);
}

/** The two input indices a linear resize blends for output index x, and the weight of the second. */
export function linearTaps(m: ResizeAxisMap, x: number): { i0: number; i1: number; frac: number } {
  const t = Math.min(Math.max(x * m.a + m.b, 0), (m.inSize - 1) * m.d);
  const i0 = Math.floor(t / m.d);
  return { i0, i1: Math.min(i0 + 1, m.inSize - 1), frac: (t - i0 * m.d) / m.d };
}

/** The cubic convolution kernel with coefficient A (Keys), at distance t from the sample. */
export function cubicWeight(t: number, A: number): number {
  const s = Math.abs(t);
  if (s <= 1) return ((A + 2) * s - (A + 3)) * s * s + 1;
  if (s < 2) return ((A * s - 5 * A) * s + 8 * A) * s - 4 * A;
  return 0;
}

/** Whether a linear or cubic resize weighs its taps by filterTaps (else linearTaps' two-tap blend). */
export function usesFilter(plan: Pick<ResizePlan, 'mode' | 'antialias'>): boolean {
  return plan.mode === 'cubic' || (plan.mode === 'linear' && plan.antialias);
}

/** How many taps a filter reaches on each side of the source coordinate: its support, stretched by 1/scale when antialiased. */
export function filterReach(plan: Pick<ResizePlan, 'mode' | 'antialias'>, m: Pick<ResizeAxisMap, 'scale'>): number {
  const support = plan.mode === 'cubic' ? 2 : 1;
  return Math.ceil(support / (plan.antialias ? Math.min(m.scale, 1) : 1));
}

/**
 * The input indices a linear or cubic filter blends for output index x, clamped to the input's
 * edge, and their weights (summing to 1). Around the unclamped source coordinate t = i0 + r, tap
 * i0 + k (k = 1 - reach .. reach) weighs kernel((k - r) s): the triangle or cubic (coefficient A)
 * kernel, s = 1, or min(scale, 1) when antialiased. With excludeOutside, taps outside the input
 * weigh 0.
 */
export function filterTaps(plan: ResizePlan, m: ResizeAxisMap, x: number): { index: number[]; weight: number[] } {
  const num = x * m.a + m.b;
  const i0 = Math.floor(num / m.d);
  const r = (num - i0 * m.d) / m.d;
  const s = plan.antialias ? Math.min(m.scale, 1) : 1;
  const reach = filterReach(plan, m);
  const index: number[] = [];
  const weight: number[] = [];
  for (let k = 1 - reach; k <= reach; k++) {
    const i = i0 + k;
    const t = (k - r) * s;
    index.push(Math.min(Math.max(i, 0), m.inSize - 1));
    weight.push(plan.excludeOutside && (i < 0 || i >= m.inSize) ? 0 : plan.mode === 'cubic' ? cubicWeight(t, plan.cubicA) : Math.max(0, 1 - Math.abs(t)));
  }
  const sum = weight.reduce((p, w) => p + w, 0);
  return { index, weight: weight.map((w) => w / sum) };
}

/**
 * The extents of a resize of `x`, some symbolic: the kept ones copied, each resized one the size
 * given, or floor(in * p / q) for its scale p/q (resizePlan's rule, checked there at the largest sizes).
 */
function resizedDims(x: readonly Dim[], attrs: Attrs): Dim[] {
  resizePlan(largest(x), attrs);
  const { scales, sizes } = typedAttrs(attrs, resizeAttrs, 'resize');
  const given = scales.length ? scales : sizes;
  return x.map((d, i) => {
    const j = given.length - (x.length - i);
    if (j < 0 || i < x.length - 2) return d;
    if (sizes.length) return sizes[j]!;
    const [p, q] = scaleFraction(scales[j]!);
    return dFloorDiv(dMul(d, p), q);
  });
}

/**
 * Why a resize from extents `x` to `out` (some symbolic) cannot use one coordinate map for every
 * size, or undefined when it can: the kernel takes each axis's map (x * a + b) / d as fixed
 * uniforms, so the map must not depend on the extents. It does not for a given scale under
 * asymmetric, half_pixel and tf_half_pixel_for_nn; under pytorch_half_pixel while the output
 * keeps more than one element; under half_pixel_symmetric while in * scale is whole. Sizes
 * given instead of scales make the scale out/in itself vary.
 */
export function resizeVaryingMap(x: readonly Dim[], out: readonly Dim[], attrs: Attrs): string | undefined {
  const a = typedAttrs(attrs, resizeAttrs, 'resize');
  const mode = a.coordinate_transformation_mode;
  for (const i of [x.length - 2, x.length - 1].filter((k) => k >= 0)) {
    const [inSize, outSize] = [x[i]!, out[i]!];
    if (!isSymbolic(inSize) && !isSymbolic(outSize)) continue;
    const j = (a.scales.length || a.sizes.length) - (x.length - i);
    if (j < 0) continue;
    if (!a.scales.length) return `its scale out/in along dimension ${i} (sizes given, from ${String(inSize)}) varies`;
    const [p, q] = scaleFraction(a.scales[j]!);
    const fixed = ['asymmetric', 'half_pixel', 'tf_half_pixel_for_nn'].includes(mode)
      || (mode === 'pytorch_half_pixel' && dimRange(outSize)[0] > 1)
      || (mode === 'half_pixel_symmetric' && !isSymbolic(dSub(dMul(inSize, p), dMul(outSize, q))));
    if (!fixed) return `its coordinate_transformation_mode ${mode} maps dimension ${i} by its extents, which vary`;
  }
  return undefined;
}

defineOp({
  name: 'resize', kind: 'opaque', inputs: 1,
  attrs: resizeAttrs,
  infer: ([x], attrs) => {
    if (attrs.coordinate_transformation_mode === 'tf_crop_and_resize' && !isFloat(x!.dtype)) throw new OpTypeError(`tf_crop_and_resize needs a float input, got ${x!.dtype}`);
    if (attrs.mode !== 'nearest' && !isFloat(x!.dtype)) throw new OpTypeError(`${String(attrs.mode)} resize needs a float input, got ${x!.dtype}`);
    return [{ dtype: x!.dtype, shape: resizePlan(x!.shape, attrs).shape }];
  },
  dims: ([x], attrs) => [resizedDims(x!, attrs)],
});
