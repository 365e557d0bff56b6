import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import { filterReach, usesFilter, type ResizeAxisMap, type ResizePlan } from '../../ir/ops/resize.js';
import { dCeilDiv, dFloorDiv, dimRange, dIsMultiple, dMul, type Dim } from '../../ir/size-expr.js';
import { MAX_WORKGROUPS_PER_DIMENSION, wgslType } from '../wgsl.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { movedDType } from './copy.js';

const WG = 256;

// Integer coordinate maps (see ResizeAxisMap), each one module-scope declaration: nearest picks, linear blends.
const NEAREST = [
  'fn nearest(x: u32, a: u32, b: u32, d: u32, size: u32) -> u32 {',
  '  return min(u32(max(i32(x) * bitcast<i32>(a) + bitcast<i32>(b), 0)) / d, size - 1u);',
  '}',
].join('\n');
/**
 * The nearest picks of four adjacent outputs x .. x + 3 with one division: past the first, each
 * numerator grows by a = qa * d + ra, so the quotient by qa and the remainder by ra, carrying
 * one when the remainder reaches d (integer division has no vector form on lavapipe: each costs
 * a scalar divide a lane). A negative first numerator (clamped to 0) or a negative a takes four.
 */
const NEAREST4 = [
  'fn nearest4(x: u32, a: u32, b: u32, d: u32, qa: u32, ra: u32, size: u32) -> vec4<u32> {',
  '  let num = i32(x) * bitcast<i32>(a) + bitcast<i32>(b);',
  '  if (num < 0 || bitcast<i32>(a) < 0) { return vec4<u32>(nearest(x, a, b, d, size), nearest(x + 1u, a, b, d, size), nearest(x + 2u, a, b, d, size), nearest(x + 3u, a, b, d, size)); }',
  '  let q0 = u32(num) / d;',
  '  let r0 = u32(num) - q0 * d;',
  '  let c1 = u32(r0 + ra >= d);',
  '  let r1 = r0 + ra - c1 * d;',
  '  let q1 = q0 + qa + c1;',
  '  let c2 = u32(r1 + ra >= d);',
  '  let r2 = r1 + ra - c2 * d;',
  '  let q2 = q1 + qa + c2;',
  '  let c3 = u32(r2 + ra >= d);',
  '  let q3 = q2 + qa + c3;',
  '  return min(vec4<u32>(q0, q1, q2, q3), vec4<u32>(size - 1u));',
  '}',
].join('\n');
const TAPS = [
  'struct Taps { i0: u32, i1: u32, w: f32 }',
  'fn taps(x: u32, a: u32, b: u32, d: u32, size: u32) -> Taps {',
  '  let t = u32(clamp(i32(x) * bitcast<i32>(a) + bitcast<i32>(b), 0, i32((size - 1u) * d)));',
  '  let i0 = t / d;',
  '  return Taps(i0, min(i0 + 1u, size - 1u), f32(t - i0 * d) / f32(d));',
  '}',
].join('\n');

/** Whether an output index reads inside the input under tf_crop_and_resize (see insideCrop). */
const INSIDE = [
  'fn inside(x: u32, a: u32, b: u32, d: u32, size: u32) -> bool {',
  '  let num = i32(x) * bitcast<i32>(a) + bitcast<i32>(b);',
  '  return num >= 0 && num <= i32((size - 1u) * d);',
  '}',
].join('\n');

/**
 * A linear or cubic filter over taps i0 + k, k = 1 - reach .. reach, as filterTaps computes it
 * (see ir/ops/resize.ts): the source coordinate i0 + r, each tap's weight, and the taps' sum to
 * normalise by.
 */
function filterHelpers(cubic: boolean): string {
  return [
    'fn kernel_weight(t: f32) -> f32 {',
    ...(cubic
      ? [
        '  let A = bitcast<f32>(u.cubic_a);',
        '  let s = abs(t);',
        '  if (s <= 1.0) { return ((A + 2.0) * s - (A + 3.0)) * s * s + 1.0; }',
        '  if (s < 2.0) { return ((A * s - 5.0 * A) * s + 8.0 * A) * s - 4.0 * A; }',
        '  return 0.0;',
      ]
      : ['  return max(0.0, 1.0 - abs(t));']),
    '}',
    'struct Source { i0: i32, r: f32 }',
    'fn source(x: u32, a: u32, b: u32, d: u32) -> Source {',
    '  let num = i32(x) * bitcast<i32>(a) + bitcast<i32>(b);',
    '  let di = i32(d);',
    '  var i0 = num / di;',
    '  if (num < 0 && i0 * di != num) { i0 = i0 - 1; } // floor, where / truncates',
    '  return Source(i0, f32(num - i0 * di) / f32(d));',
    '}',
    'fn tap_weight(src: Source, k: i32, s: f32, size: u32) -> f32 {',
    '  let i = src.i0 + k;',
    '  if (u.exclude != 0u && (i < 0 || i >= i32(size))) { return 0.0; }',
    '  return kernel_weight((f32(k) - src.r) * s);',
    '}',
    'fn tap_sum(src: Source, reach: i32, s: f32, size: u32) -> f32 {',
    '  var sum = 0.0;',
    '  for (var k = 1 - reach; k <= reach; k++) { sum = sum + tap_weight(src, k, s, size); }',
    '  return sum;',
    '}',
  ].join('\n');
}

/** A resize axis as the kernel takes it: its extents may be symbolic (the coordinate map may not). */
type KernelAxis = Omit<ResizeAxisMap, 'inSize' | 'outSize'> & { readonly inSize: Dim; readonly outSize: Dim };

/** A resize plan as the kernel takes it: batch and extents may be symbolic. */
export type ResizeKernelPlan = Omit<ResizePlan, 'batch' | 'h' | 'w' | 'shape'> & { readonly batch: Dim; readonly h: KernelAxis; readonly w: KernelAxis };

/**
 * Whether emitResize can compute four adjacent outputs of a row an invocation (see emitResize's
 * `vec4`): nearest or linear, an output width a multiple of 4, and a grid of workgroups
 * (tiles4) within WebGPU's 65535 a dimension at the largest sizes.
 */
export function resizeTakesVec4(plan: ResizeKernelPlan): boolean {
  return !usesFilter(plan) && dIsMultiple(plan.w.outSize, 4) && tiles4(plan).every((d) => dimRange(d)[1] <= MAX_WORKGROUPS_PER_DIMENSION);
}


/**
 * How nearest and linear compute their outputs: lines run once per output row (from `oy` and
 * the input plane's first row `base`), lines run once per four columns from `ox` (the vec4
 * kernel only), and the output at column `ox + k` of the row (k = 0 for the one-output kernel)
 * as a call of the module-scope function `column`.
 */
interface RowColumn {
  readonly row: readonly string[];
  readonly columns4: readonly string[];
  readonly lane: (k: number, vec4: boolean) => string;
  readonly column: string;
}

const plus = (x: string, k: number) => (k ? `${x} + ${k}u` : x);

/** Nearest: the row's source offset; the column's index from nearest, or for four columns nearest4. */
function nearestRowColumn(t: string, cropColumn: readonly string[]): RowColumn {
  return {
    row: ['  let row = (base + nearest(oy, u.ha, u.hb, u.hd, u.in_h)) * u.in_w;'],
    columns4: ['  let ix = nearest4(ox, u.wa, u.wb, u.wd, u.wqa, u.wra, u.in_w);'],
    lane: (k, vec4) => `column(row, ${vec4 ? `ix[${k}]` : 'nearest(ox, u.wa, u.wb, u.wd, u.in_w)'}, ${plus('ox', k)})`,
    column: [
      `fn column(row: u32, ix: u32, ox: u32) -> ${t} {`,
      ...cropColumn,
      '  return x[row + ix];',
      '}',
    ].join('\n'),
  };
}

/** Linear: the row's two source rows and their blend weight; each column its two taps. */
function linearRowColumn(t: string, cropColumn: readonly string[]): RowColumn {
  return {
    row: [
      '  let ty = taps(oy, u.ha, u.hb, u.hd, u.in_h);',
      '  let r0 = (base + ty.i0) * u.in_w;',
      '  let r1 = (base + ty.i1) * u.in_w;',
    ],
    columns4: [],
    lane: (k) => `column(r0, r1, ty.w, ${plus('ox', k)})`,
    column: [
      `fn column(r0: u32, r1: u32, wy: f32, ox: u32) -> ${t} {`,
      ...cropColumn,
      '  let tx = taps(ox, u.wa, u.wb, u.wd, u.in_w);',
      '  let top = mix(f32(x[r0 + tx.i0]), f32(x[r0 + tx.i1]), tx.w);',
      '  let bottom = mix(f32(x[r1 + tx.i0]), f32(x[r1 + tx.i1]), tx.w);',
      `  return ${t}(mix(top, bottom, wy));`,
      '}',
    ].join('\n'),
  };
}

/**
 * Emits a resize over [batch, H, W]. Sizes and coordinate maps are uniforms, so one shader
 * serves every nearest resize of an element size and every linear resize of a float type.
 *
 * With `vec4` (see resizeTakesVec4), an invocation computes four adjacent outputs of one row
 * and stores them as one vec4, its column group, row and plane the x, y and z of a 3-D grid: no
 * division splits its index, the row's source (iy, or linear's two rows) is found once for four
 * outputs, and nearest's four column picks take one division (nearest4). Integer division has
 * no vector form on lavapipe, so a nearest output costs half a division instead of four to six:
 * the six 2x to 8x upsamplings of PP-OCRv4 det at 640x640 took a third to a fifth of the
 * device time they took one output an invocation.
 */
export function emitResize(name: string, dtype: DType, plan: ResizeKernelPlan, sources: { readonly x: Source; readonly out: Source }, vec4 = resizeTakesVec4(plan)): EmittedKernel {
  const { h, w } = plan;
  const n = dMul(plan.batch, h.outSize, w.outSize);
  const filter = usesFilter(plan);
  if (vec4 && !resizeTakesVec4(plan)) throw new Error('internal: the vec4 resize does not apply to this plan (see resizeTakesVec4)');
  const t = plan.mode === 'nearest' ? movedDType(dtype) : dtype;
  const wt = wgslType(t);
  const m = new KernelModule();
  const u = m.uniforms
    .scalar('n', n).scalar('in_h', h.inSize).scalar('in_w', w.inSize).scalar('out_h', h.outSize).scalar('out_w', w.outSize)
    .scalar('ha', h.a).scalar('hb', h.b).scalar('hd', h.d).scalar('wa', w.a).scalar('wb', w.b).scalar('wd', w.d);
  if (filter) {
    u.f32('cubic_a', plan.cubicA).scalar('exclude', plan.excludeOutside ? 1 : 0)
      .scalar('h_reach', filterReach(plan, h)).scalar('w_reach', filterReach(plan, w))
      .f32('h_s', plan.antialias ? Math.min(h.scale, 1) : 1).f32('w_s', plan.antialias ? Math.min(w.scale, 1) : 1);
  }
  const crop = h.crop && w.crop ? { h: h.crop, w: w.crop } : undefined;
  if (crop) {
    u.scalar('hca', crop.h.a).scalar('hcb', crop.h.b).scalar('hcd', crop.h.d).scalar('wca', crop.w.a).scalar('wcb', crop.w.b).scalar('wcd', crop.w.d)
      .f32('extrapolation', plan.extrapolation);
  }
  // tf_crop_and_resize: outputs whose source lies outside the input take the extrapolation value
  // (kept as its f32 bits where nearest moves f32 elements as u32): a whole row when its oy is
  // outside, else each column whose ox is.
  const extrapolated = t === 'u32' ? 'u.extrapolation' : `${wt}(bitcast<f32>(u.extrapolation))`;
  const cropRow = crop
    ? [`  if (!inside(oy, u.hca, u.hcb, u.hcd, u.in_h)) { out[i] = ${vec4 ? `vec4<${wt}>(${extrapolated})` : extrapolated}; return; }`]
    : [];
  const outsideColumn = '!inside(ox, u.wca, u.wcb, u.wcd, u.in_w)';
  const cropColumn = crop ? [`  if (${outsideColumn}) { return ${extrapolated}; }`] : [];
  const index = vec4
    ? ['  if (gid.x >= u.out_w4 || gid.y >= u.out_h) { return; }', '  let ox = gid.x * 4u;', '  let oy = gid.y;',
      '  let base = gid.z * u.in_h;', '  let i = (gid.z * u.out_h + oy) * u.out_w4 + gid.x;', ...cropRow]
    : ['  let ox = i % u.out_w;', '  let rest = i / u.out_w;', '  let oy = rest % u.out_h;', '  let base = (rest / u.out_h) * u.in_h;', ...cropRow];
  m.read('x', t, sources.x);
  if (filter) {
    m.write('out', t, sources.out);
    m.declare(filterHelpers(plan.mode === 'cubic'), ...(crop ? [INSIDE] : []));
    const cropOutput = crop ? [`  if (${outsideColumn}) { out[i] = ${extrapolated}; return; }`] : [];
    return m.flat(name, WG, 'u.n', n, [...index, ...cropOutput, ...filterBody(wt)]);
  }
  const nearest = plan.mode === 'nearest';
  const rc = nearest ? nearestRowColumn(wt, cropColumn) : linearRowColumn(wt, cropColumn);
  m.declare(nearest ? NEAREST : TAPS, ...(crop ? [INSIDE] : []), rc.column);
  if (!vec4) {
    m.write('out', t, sources.out);
    return m.flat(name, WG, 'u.n', n, [...index, ...rc.row, `  out[i] = ${rc.lane(0, false)};`]);
  }
  u.scalar('out_w4', dFloorDiv(w.outSize, 4));
  if (nearest) {
    // nearest4 steps the numerator by a = qa * d + ra (a map that runs backwards, a < 0, divides each).
    const step = w.a >= 0 ? { qa: Math.floor(w.a / w.d), ra: w.a % w.d } : { qa: 0, ra: 0 };
    u.scalar('wqa', step.qa).scalar('wra', step.ra);
    m.declare(NEAREST4);
  }
  m.writeVec4('out', t, sources.out);
  const lanes = [0, 1, 2, 3].map((k) => rc.lane(k, true));
  const body = [...index, ...rc.row, ...rc.columns4, `  out[i] = vec4<${wt}>(${lanes.join(', ')});`];
  return m.kernel(`${name}4`, { workgroupSize: `${TILE4.x}, ${TILE4.y}`, builtins: '@builtin(global_invocation_id) gid: vec3<u32>', body }, tiles4(plan));
}

/**
 * The vec4 kernel's workgroup: 4 invocations across (16 output columns) by 16 rows, so that
 * widths and heights that are multiples of 16 (an upsampled feature map's) leave no invocation
 * idle, and a row of 4 vec4s is 64 contiguous bytes for a GPU to coalesce.
 */
const TILE4 = { x: 4, y: 16 };

/** The vec4 kernel's workgroups: x over groups of four columns, y over rows, z over planes. */
function tiles4(plan: ResizeKernelPlan): [Dim, Dim, Dim] {
  return [dCeilDiv(plan.w.outSize, 4 * TILE4.x), dCeilDiv(plan.h.outSize, TILE4.y), plan.batch];
}

/** The cubic or antialiased filter's body: each output sums its taps' products, normalised. */
function filterBody(wt: string): string[] {
  const at = (y: string, x: string) => `x[(base + ${y}) * u.in_w + ${x}]`;
  return [
    '  let sy = source(oy, u.ha, u.hb, u.hd);',
    '  let sx = source(ox, u.wa, u.wb, u.wd);',
    '  let hr = i32(u.h_reach);',
    '  let wr = i32(u.w_reach);',
    '  let hs = bitcast<f32>(u.h_s);',
    '  let ws = bitcast<f32>(u.w_s);',
    '  var acc = 0.0;',
    '  for (var ky = 1 - hr; ky <= hr; ky++) {',
    '    let wy = tap_weight(sy, ky, hs, u.in_h);',
    '    if (wy == 0.0) { continue; }',
    '    let y = u32(clamp(sy.i0 + ky, 0, i32(u.in_h) - 1));',
    '    var row = 0.0;',
    '    for (var kx = 1 - wr; kx <= wr; kx++) {',
    `      row = row + tap_weight(sx, kx, ws, u.in_w) * f32(${at('y', 'u32(clamp(sx.i0 + kx, 0, i32(u.in_w) - 1))')});`,
    '    }',
    '    acc = acc + wy * row;',
    '  }',
    `  out[i] = ${wt}(acc / (tap_sum(sy, hr, hs, u.in_h) * tap_sum(sx, wr, ws, u.in_w)));`,
  ];
}
