import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import type { ResizePlan } from '../../ir/ops/resize.js';
import { enables, flatIndex, grid1d, storageDecl, UniformBlock, wgslType, flatKernel } from '../wgsl.js';
import { movedDType } from './copy.js';

const WG = 256;

/** Integer coordinate maps shared by both modes (see ResizeAxisMap): nearest picks, linear blends. */
const HELPERS = [
  'fn nearest(x: u32, a: u32, b: u32, d: u32, size: u32) -> u32 {',
  '  return min(u32(max(i32(x) * bitcast<i32>(a) + bitcast<i32>(b), 0)) / d, size - 1u);',
  '}',
  'struct Taps { i0: u32, i1: u32, w: f32 }',
  'fn taps(x: u32, a: u32, b: u32, d: u32, size: u32) -> Taps {',
  '  let t = u32(clamp(i32(x) * bitcast<i32>(a) + bitcast<i32>(b), 0, i32((size - 1u) * d)));',
  '  let i0 = t / d;',
  '  return Taps(i0, min(i0 + 1u, size - 1u), f32(t - i0 * d) / f32(d));',
  '}',
];

/** Whether an output index reads inside the input under tf_crop_and_resize (see insideCrop). */
const INSIDE = [
  'fn inside(x: u32, a: u32, b: u32, d: u32, size: u32) -> bool {',
  '  let num = i32(x) * bitcast<i32>(a) + bitcast<i32>(b);',
  '  return num >= 0 && num <= i32((size - 1u) * d);',
  '}',
];

/** The cubic taps of one axis, as cubicTaps computes them (see ir/ops/resize.ts). */
const CUBIC_HELPERS = [
  'struct Cubic { i: vec4<u32>, w: vec4<f32> }',
  'fn cubic_weight(t: f32, A: f32) -> f32 {',
  '  let s = abs(t);',
  '  if (s <= 1.0) { return ((A + 2.0) * s - (A + 3.0)) * s * s + 1.0; }',
  '  if (s < 2.0) { return ((A * s - 5.0 * A) * s + 8.0 * A) * s - 4.0 * A; }',
  '  return 0.0;',
  '}',
  'fn cubic(x: u32, a: u32, b: u32, d: u32, size: u32, A: f32, exclude: u32) -> Cubic {',
  '  let num = i32(x) * bitcast<i32>(a) + bitcast<i32>(b);',
  '  let di = i32(d);',
  '  var i0 = num / di;',
  '  if (num < 0 && i0 * di != num) { i0 = i0 - 1; } // floor, where / truncates',
  '  let r = f32(num - i0 * di) / f32(d);',
  '  var c: Cubic;',
  '  var sum = 0.0;',
  '  for (var k = 0; k < 4; k++) {',
  '    let i = i0 + k - 1;',
  '    var wk = cubic_weight(f32(k - 1) - r, A);',
  '    if (exclude != 0u && (i < 0 || i >= i32(size))) { wk = 0.0; }',
  '    c.i[k] = u32(clamp(i, 0, i32(size) - 1));',
  '    c.w[k] = wk;',
  '    sum = sum + wk;',
  '  }',
  '  if (exclude != 0u) { c.w = c.w / sum; }',
  '  return c;',
  '}',
];

/**
 * Emits a resize over [batch, H, W]. Sizes and coordinate maps are uniforms, so one shader
 * serves every nearest resize of an element size and every linear resize of a float type.
 */
export function emitResize(name: string, dtype: DType, plan: ResizePlan): EmittedKernel {
  const { h, w } = plan;
  const n = plan.batch * h.outSize * w.outSize;
  const linear = plan.mode === 'linear';
  const cubic = plan.mode === 'cubic';
  const t = linear || cubic ? dtype : movedDType(dtype);
  const u = new UniformBlock()
    .scalar('n', n).scalar('in_h', h.inSize).scalar('in_w', w.inSize).scalar('out_h', h.outSize).scalar('out_w', w.outSize)
    .scalar('ha', h.a).scalar('hb', h.b).scalar('hd', h.d).scalar('wa', w.a).scalar('wb', w.b).scalar('wd', w.d);
  if (cubic) u.f32('cubic_a', plan.cubicA).scalar('exclude', plan.excludeOutside ? 1 : 0);
  const crop = h.crop && w.crop ? { h: h.crop, w: w.crop } : undefined;
  if (crop) {
    u.scalar('hca', crop.h.a).scalar('hcb', crop.h.b).scalar('hcd', crop.h.d).scalar('wca', crop.w.a).scalar('wcb', crop.w.b).scalar('wcd', crop.w.d)
      .f32('extrapolation', plan.extrapolation);
  }
  // tf_crop_and_resize: outputs whose source lies outside the input take the extrapolation value
  // (kept as its f32 bits where nearest moves f32 elements as u32).
  const extrapolated = t === 'u32' ? 'u.extrapolation' : `${wgslType(t)}(bitcast<f32>(u.extrapolation))`;
  const cropCheck = crop
    ? [`  if (!inside(oy, u.hca, u.hcb, u.hcd, u.in_h) || !inside(ox, u.wca, u.wcb, u.wcd, u.in_w)) { out[i] = ${extrapolated}; return; }`]
    : [];
  const at = (y: string, x: string) => `x[(base + ${y}) * u.in_w + ${x}]`;
  const cubicBody = [
    '  let cy = cubic(oy, u.ha, u.hb, u.hd, u.in_h, bitcast<f32>(u.cubic_a), u.exclude);',
    '  let cx = cubic(ox, u.wa, u.wb, u.wd, u.in_w, bitcast<f32>(u.cubic_a), u.exclude);',
    '  var acc = 0.0;',
    '  for (var j = 0; j < 4; j++) {',
    `    let row = vec4<f32>(f32(${at('cy.i[j]', 'cx.i.x')}), f32(${at('cy.i[j]', 'cx.i.y')}), f32(${at('cy.i[j]', 'cx.i.z')}), f32(${at('cy.i[j]', 'cx.i.w')}));`,
    '    acc = acc + cy.w[j] * dot(row, cx.w);',
    '  }',
    `  out[i] = ${wgslType(t)}(acc);`,
  ];
  const body = cubic ? cubicBody : linear
    ? [
      '  let ty = taps(oy, u.ha, u.hb, u.hd, u.in_h);',
      '  let tx = taps(ox, u.wa, u.wb, u.wd, u.in_w);',
      `  let top = mix(f32(${at('ty.i0', 'tx.i0')}), f32(${at('ty.i0', 'tx.i1')}), tx.w);`,
      `  let bottom = mix(f32(${at('ty.i1', 'tx.i0')}), f32(${at('ty.i1', 'tx.i1')}), tx.w);`,
      `  out[i] = ${wgslType(t)}(mix(top, bottom, ty.w));`,
    ]
    : [
      '  let iy = nearest(oy, u.ha, u.hb, u.hd, u.in_h);',
      '  let ix = nearest(ox, u.wa, u.wb, u.wd, u.in_w);',
      `  out[i] = ${at('iy', 'ix')};`,
    ];
  const wgsl = flatKernel([enables([t]) + storageDecl(0, 'x', t, 'read'), storageDecl(1, 'out', t, 'read_write'), u.declare(2), ...(cubic ? CUBIC_HELPERS : linear ? HELPERS.slice(3) : HELPERS.slice(0, 3)), ...(crop ? INSIDE : [])], WG, [
    `  let i = ${flatIndex(WG)};`,
    '  if (i >= u.n) { return; }',
    '  let ox = i % u.out_w;',
    '  let rest = i / u.out_w;',
    '  let oy = rest % u.out_h;',
    '  let base = (rest / u.out_h) * u.in_h;',
    ...cropCheck,
    ...body,
  ]);
  return { name, wgsl, uniforms: u.words(), workgroups: grid1d(n, WG) };
}
