import type { PoolGeometry } from '../../ir/ops/pool.js';
import type { DType } from '../../ir/types.js';
import { dMul, type Dim } from '../../ir/size-expr.js';
import type { EmittedKernel } from './kernel.js';
import { wgslType } from '../wgsl.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { isNanF32, nanPropagatingF32 } from './wgsl-math.js';

// Pooling over NCHW planes: one invocation per output element, looping over its window in f32.
// Geometry is uniforms, so each mode is one shader whatever the sizes.

const WG = 64;

/** Bits of the lowest value of a max's accumulator type (f32: -infinity): what a max over nothing gives. */
export const LOWEST_BITS: Readonly<Record<string, number>> = { f32: 0xff800000, i32: 0x80000000, u32: 0 };

/** The node values a pool binds: its input and its output. */
export interface PoolSources {
  readonly x: Source;
  readonly out: Source;
}

/** A windowed pool: max (padding never wins) or average (divisor per count_include_pad). */
export interface WindowPoolSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly sources: PoolSources;
  readonly mode: 'max' | 'avg';
  readonly geometry: PoolKernelGeometry;
  /** avg only: whether padded positions count in the divisor. */
  readonly countIncludePad?: boolean;
}

/** A pool's geometry as a kernel takes it: its extents may be symbolic (the windows are not). */
export type PoolKernelGeometry = Omit<PoolGeometry, 'batch' | 'channels' | 'inH' | 'inW' | 'outH' | 'outW'> & {
  readonly batch: Dim; readonly channels: Dim; readonly inH: Dim; readonly inW: Dim; readonly outH: Dim; readonly outW: Dim;
};

/** The geometry of a node's pool, its extents taken from the values' dims. */
export function poolKernelGeometry(g: PoolGeometry, x: readonly Dim[], out: readonly Dim[]): PoolKernelGeometry {
  return { ...g, batch: x[0]!, channels: x[1]!, inH: x[2]!, inW: x[3]!, outH: out[2]!, outW: out[3]! };
}

/** Output elements in all, and each plane's size in and out. */
interface Planes {
  readonly total: Dim;
  readonly h: Dim;
  readonly w: Dim;
  readonly outH: Dim;
  readonly outW: Dim;
}

/** A module binding x and out, its uniforms starting with the plane geometry every pool reads. */
function poolModule(dtype: DType, sources: PoolSources, p: Planes): KernelModule {
  const m = new KernelModule();
  m.uniforms.scalar('total', p.total).scalar('H', p.h).scalar('W', p.w).scalar('OH', p.outH).scalar('OW', p.outW);
  m.read('x', dtype, sources.x);
  m.write('out', dtype, sources.out);
  return m;
}

/** The kernel: one invocation per output element (ow, oh) of the plane at `xp`, running `body`. */
function poolKernel(m: KernelModule, name: string, body: string[], total: Dim): EmittedKernel {
  return m.flat(name, WG, 'u.total', total, [
    '  let ow = i % u.OW;',
    '  let oh = (i / u.OW) % u.OH;',
    '  let xp = (i / (u.OW * u.OH)) * u.H * u.W;',
    ...body,
  ]);
}

/** max_pool2d or avg_pool2d over x [N,C,H,W]. */
export function emitWindowPool(spec: WindowPoolSpec): EmittedKernel {
  const g = spec.geometry;
  const total = dMul(g.batch, g.channels, g.outH, g.outW);
  const m = poolModule(spec.dtype, spec.sources, { total, h: g.inH, w: g.inW, outH: g.outH, outW: g.outW });
  const u = m.uniforms
    .scalar('KH', g.h.kernel).scalar('KW', g.w.kernel).scalar('sh', g.h.stride).scalar('sw', g.w.stride)
    .scalar('pt', g.h.padBefore).scalar('pl', g.w.padBefore);
  const t = wgslType(spec.dtype);
  const L: string[] = ['  let H = i32(u.H);', '  let W = i32(u.W);'];
  if (spec.mode === 'max') {
    // -inf comes from a uniform: WGSL rejects infinities in constant expressions.
    // Integers compare as themselves (f32 would round those past 2^24).
    const acc = spec.dtype === 'i32' || spec.dtype === 'u32' ? t : 'f32';
    u.scalar('dh', g.h.dilation).scalar('dw', g.w.dilation).scalar('lowest', LOWEST_BITS[acc]!);
    L.push(`  var best = bitcast<${acc}>(u.lowest);`);
    L.push('  for (var kh = 0u; kh < u.KH; kh++) {');
    L.push('    let ih = i32(oh * u.sh + kh * u.dh) - i32(u.pt);');
    L.push('    if (ih < 0 || ih >= H) { continue; }');
    L.push('    for (var kw = 0u; kw < u.KW; kw++) {');
    L.push('      let iw = i32(ow * u.sw + kw * u.dw) - i32(u.pl);');
    L.push('      if (iw < 0 || iw >= W) { continue; }');
    if (acc === 'f32') {
      // NaN propagates, as on the CPU and in PyTorch (WGSL's max would drop it).
      L.push(`      let v = f32(x[xp + u32(ih * W + iw)]);`, `      best = ${nanPropagatingF32('max', 'best', 'v')};`);
    } else {
      L.push(`      best = max(best, ${acc}(x[xp + u32(ih * W + iw)]));`);
    }
    L.push('    }', '  }');
    L.push(`  out[i] = ${t}(best);`);
  } else {
    u.scalar('pb', g.h.padAfter).scalar('pr', g.w.padAfter).scalar('include_pad', spec.countIncludePad ? 1 : 0);
    // The window as placed on the padded input, cut at the far padding (ceil_mode may overhang it).
    L.push('  let h0 = i32(oh * u.sh) - i32(u.pt);', '  let w0 = i32(ow * u.sw) - i32(u.pl);');
    L.push('  let h1 = min(h0 + i32(u.KH), H + i32(u.pb));', '  let w1 = min(w0 + i32(u.KW), W + i32(u.pr));');
    L.push('  let padded = (h1 - h0) * (w1 - w0);');
    L.push('  let ha = max(h0, 0);', '  let hb = min(h1, H);', '  let wa = max(w0, 0);', '  let wb = min(w1, W);');
    L.push('  var sum = 0.0;');
    L.push('  for (var ih = ha; ih < hb; ih++) {');
    L.push('    for (var iw = wa; iw < wb; iw++) { sum += f32(x[xp + u32(ih * W + iw)]); }');
    L.push('  }');
    L.push('  let count = select((hb - ha) * (wb - wa), padded, u.include_pad != 0u);');
    L.push(`  out[i] = ${t}(sum / f32(count));`);
  }
  return poolKernel(m, spec.name, L, total);
}

/** adaptive_avg_pool2d over x [N,C,H,W] to [N,C,OH,OW] with PyTorch's bins. */
export function emitAdaptiveAvgPool(name: string, dtype: DType, inShape: readonly number[], outH: number, outW: number, sources: PoolSources): EmittedKernel {
  const [n, c, h, w] = inShape as [number, number, number, number];
  const total = n * c * outH * outW;
  const m = poolModule(dtype, sources, { total, h, w, outH, outW });
  const L = [
    // Bin [floor(i*H/OH), ceil((i+1)*H/OH)).
    '  let h0 = oh * u.H / u.OH;', '  let h1 = ((oh + 1u) * u.H + u.OH - 1u) / u.OH;',
    '  let w0 = ow * u.W / u.OW;', '  let w1 = ((ow + 1u) * u.W + u.OW - 1u) / u.OW;',
    '  var sum = 0.0;',
    '  for (var ih = h0; ih < h1; ih++) {',
    '    for (var iw = w0; iw < w1; iw++) { sum += f32(x[xp + ih * u.W + iw]); }',
    '  }',
    `  out[i] = ${wgslType(dtype)}(sum / f32((h1 - h0) * (w1 - w0)));`,
  ];
  return poolKernel(m, name, L, total);
}

/**
 * max_pool2d_indices over x [N,C,H,W]: the flat index into x (i32) of the element max_pool2d
 * picks, the first maximum in row-major window order or the first NaN, as the CPU reference;
 * `columnMajor` indexes each plane column by column (ONNX's storage_order=1). -1 for a window
 * over padding alone.
 */
export function emitMaxPoolIndices(name: string, dtype: DType, sources: PoolSources, g: PoolKernelGeometry, columnMajor: boolean): EmittedKernel {
  const total = dMul(g.batch, g.channels, g.outH, g.outW);
  const m = new KernelModule();
  m.uniforms.scalar('total', total).scalar('H', g.inH).scalar('W', g.inW).scalar('OH', g.outH).scalar('OW', g.outW)
    .scalar('KH', g.h.kernel).scalar('KW', g.w.kernel).scalar('sh', g.h.stride).scalar('sw', g.w.stride)
    .scalar('pt', g.h.padBefore).scalar('pl', g.w.padBefore).scalar('dh', g.h.dilation).scalar('dw', g.w.dilation);
  m.read('x', dtype, sources.x);
  m.write('out', 'i32', sources.out);
  const float = dtype === 'f32' || dtype === 'f16';
  const acc = float ? 'f32' : wgslType(dtype);
  const L = [
    '  let H = i32(u.H);', '  let W = i32(u.W);',
    `  var best: ${acc};`, '  var picked = -1;',
    '  for (var kh = 0u; kh < u.KH; kh++) {',
    '    let ih = i32(oh * u.sh + kh * u.dh) - i32(u.pt);',
    '    if (ih < 0 || ih >= H) { continue; }',
    '    for (var kw = 0u; kw < u.KW; kw++) {',
    '      let iw = i32(ow * u.sw + kw * u.dw) - i32(u.pl);',
    '      if (iw < 0 || iw >= W) { continue; }',
    `      let v = ${acc}(x[xp + u32(ih * W + iw)]);`,
    // The first NaN wins and ends the search; else the first strictly larger value.
    float
      ? `      if (${isNanF32('v')}) { best = v; picked = ih * W + iw; break; }`
      : '',
    '      if (picked < 0 || v > best) { best = v; picked = ih * W + iw; }',
    '    }',
    float ? `    if (picked >= 0 && ${isNanF32('best')}) { break; }` : '',
    '  }',
    columnMajor
      ? '  if (picked >= 0) { picked = (picked % W) * H + picked / W; }'
      : '',
    '  out[i] = select(picked, i32(xp) + picked, picked >= 0);',
  ].filter((l) => l !== '');
  return poolKernel(m, name, L, total);
}
