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

/**
 * Emits a resize over [batch, H, W]. Sizes and coordinate maps are uniforms, so one shader
 * serves every nearest resize of an element size and every linear resize of a float type.
 */
export function emitResize(name: string, dtype: DType, plan: ResizePlan): EmittedKernel {
  const { h, w } = plan;
  const n = plan.batch * h.outSize * w.outSize;
  const linear = plan.mode === 'linear';
  const t = linear ? dtype : movedDType(dtype);
  const u = new UniformBlock()
    .scalar('n', n).scalar('in_h', h.inSize).scalar('in_w', w.inSize).scalar('out_h', h.outSize).scalar('out_w', w.outSize)
    .scalar('ha', h.a).scalar('hb', h.b).scalar('hd', h.d).scalar('wa', w.a).scalar('wb', w.b).scalar('wd', w.d);
  const at = (y: string, x: string) => `x[(base + ${y}) * u.in_w + ${x}]`;
  const body = linear
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
  const wgsl = flatKernel([enables([t]) + storageDecl(0, 'x', t, 'read'), storageDecl(1, 'out', t, 'read_write'), u.declare(2), ...(linear ? HELPERS.slice(3) : HELPERS.slice(0, 3))], WG, [
    `  let i = ${flatIndex(WG)};`,
    '  if (i >= u.n) { return; }',
    '  let ox = i % u.out_w;',
    '  let rest = i / u.out_w;',
    '  let oy = rest % u.out_h;',
    '  let base = (rest / u.out_h) * u.in_h;',
    ...body,
  ]);
  return { name, wgsl, uniforms: u.words(), workgroups: grid1d(n, WG) };
}
