import { attrsOf } from '../../../ir/attrs.js';
import { nmsAttrs, uniqueAttrs } from '../../../ir/ops/data-dependent.js';
import { normalizeAxes } from '../../../ir/ops/shape-util.js';
import type { TensorData } from '../../../ir/tensor-data.js';
import { allocTyped, numel, type DType } from '../../../ir/types.js';
import type { CpuKernel } from './kernel.js';
import { hostValues, storeValues } from './values.js';

// The results of these kernels are as long as the data makes them: their shapes come from the
// data, not from the node's types (which hold the largest extents the op can produce).

function tensorOf(dtype: DType, shape: readonly number[], values: ArrayLike<number>): TensorData {
  return storeValues({ dtype, shape: [...shape], data: allocTyped(dtype, numel(shape)) }, values);
}

/** Row-major strides of a static shape. */
function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) { out[i] = s; s *= shape[i]!; }
  return out;
}

const nonzero: CpuKernel = (_node, [x]) => {
  const xs = hostValues(x!);
  const st = strides(x!.shape);
  const hits: number[] = [];
  for (let i = 0; i < xs.length; i++) if (xs[i] !== 0) hits.push(i); // NaN !== 0: NaN counts
  const rank = x!.shape.length;
  const out = new Array<number>(rank * hits.length);
  hits.forEach((flat, k) => {
    for (let d = 0; d < rank; d++) out[d * hits.length + k] = Math.floor(flat / st[d]!) % x!.shape[d]!;
  });
  return [tensorOf('i32', [rank, hits.length], out)];
};

/** NumPy's sort order: ascending, NaN after every number and equal to NaN. */
function compareNumbers(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return Number(na) - Number(nb);
  return a < b ? -1 : a > b ? 1 : 0;
}

const unique: CpuKernel = (node, [x]) => {
  const { sorted, axis } = attrsOf(node, uniqueAttrs);
  const xs = hostValues(x!);
  // Slice j along the axis is its elements at (o * n + j) * inner + i, in o-major order.
  const a = axis === undefined ? undefined : normalizeAxes([axis], x!.shape.length)[0]!;
  const n = a === undefined ? xs.length : x!.shape[a]!;
  const inner = a === undefined ? 1 : numel(x!.shape.slice(a + 1));
  const outer = a === undefined ? 1 : numel(x!.shape.slice(0, a));
  const slice = (j: number): number[] => {
    const s: number[] = [];
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) s.push(xs[(o * n + j) * inner + i]!);
    return s;
  };
  const slices = Array.from({ length: n }, (_, j) => slice(j));
  const compare = (p: number, q: number): number => {
    const [u, v] = [slices[p]!, slices[q]!];
    for (let i = 0; i < u.length; i++) {
      const c = compareNumbers(u[i]!, v[i]!);
      if (c) return c;
    }
    return 0;
  };
  // A stable sort: each run of equal slices starts with its first occurrence.
  const order = Array.from({ length: n }, (_, j) => j).sort((p, q) => compare(p, q) || p - q);
  const groups: number[][] = [];
  for (const j of order) {
    const g = groups.at(-1);
    if (g && compare(g[0]!, j) === 0) g.push(j);
    else groups.push([j]);
  }
  if (!sorted) groups.sort((g, h) => g[0]! - h[0]!);
  const inverse = new Array<number>(n);
  groups.forEach((g, k) => { for (const j of g) inverse[j] = k; });
  const k = groups.length;
  const y = new Array<number>(outer * k * inner);
  groups.forEach((g, u) => slices[g[0]!]!.forEach((v, e) => { y[(Math.floor(e / inner) * k + u) * inner + (e % inner)] = v; }));
  const yShape = a === undefined ? [k] : x!.shape.map((d, i) => (i === a ? k : d));
  return [
    tensorOf(x!.dtype, yShape, y),
    tensorOf('i32', [k], groups.map((g) => g[0]!)),
    tensorOf('i32', [n], inverse),
    tensorOf('i32', [k], groups.map((g) => g.length)),
  ];
};

const f = Math.fround;

/** A box's corners as [ymin, xmin, ymax, xmax] in f32 arithmetic, from either box format. */
function corners(b: ArrayLike<number>, at: number, centerPoint: boolean): [number, number, number, number] {
  const [p, q, r, s] = [b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!];
  if (centerPoint) { // [x_center, y_center, width, height]
    const [hw, hh] = [f(r / 2), f(s / 2)];
    return [f(q - hh), f(p - hw), f(q + hh), f(p + hw)];
  }
  return [Math.min(p, r), Math.min(q, s), Math.max(p, r), Math.max(q, s)]; // any two diagonal corners
}

/** Whether two boxes overlap by more than `threshold` intersection over union (f32 arithmetic, as the reference computes). */
function overlaps(a: readonly number[], b: readonly number[], threshold: number): boolean {
  const h = f(Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const w = f(Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  if (!(h > 0) || !(w > 0)) return false;
  const inter = f(h * w);
  const areaA = f(f(a[2]! - a[0]!) * f(a[3]! - a[1]!));
  const areaB = f(f(b[2]! - b[0]!) * f(b[3]! - b[1]!));
  const union = f(f(areaA + areaB) - inter);
  if (!(areaA > 0) || !(areaB > 0) || !(union > 0)) return false;
  return f(inter / union) > threshold;
}

const nonMaxSuppression: CpuKernel = (node, [boxes, scores, maxOut, iou, scoreMin]) => {
  const { center_point_box } = attrsOf(node, nmsAttrs);
  const [batches, count] = boxes!.shape as [number, number];
  const classes = scores!.shape[1]!;
  const limit = Math.max(0, maxOut!.data[0]!);
  const threshold = iou!.data[0]!;
  const bs = boxes!.data;
  const ss = scores!.data;
  const rows: number[] = [];
  for (let b = 0; b < batches; b++) {
    const box = Array.from({ length: count }, (_, i) => corners(bs, (b * count + i) * 4, center_point_box));
    for (let c = 0; c < classes; c++) {
      const score = (i: number) => ss[(b * classes + c) * count + i]!;
      // Best score first, the lower index first among equals; a NaN score ranks below every number.
      const rank = (i: number) => (Number.isNaN(score(i)) ? -Infinity : score(i));
      const candidates = Array.from({ length: count }, (_, i) => i)
        .filter((i) => !scoreMin || score(i) > scoreMin.data[0]!)
        .sort((i, j) => (rank(j) > rank(i) ? 1 : rank(j) < rank(i) ? -1 : i - j));
      const kept: number[] = [];
      for (const i of candidates) {
        if (kept.length >= limit) break;
        if (kept.every((j) => !overlaps(box[i]!, box[j]!, threshold))) {
          kept.push(i);
          rows.push(b, c, i);
        }
      }
    }
  }
  return [tensorOf('i32', [rows.length / 3, 3], rows)];
};

export const dataDependentKernels: Record<string, CpuKernel> = { nonzero, unique, non_max_suppression: nonMaxSuppression };
