import { dCeilDiv, dIsMultiple, dMul } from '../../ir/size-expr.js';
import { KernelModule } from '../kernel-module.js';
import { wgslType } from '../wgsl.js';
import { rowColumns, windowOffsets } from './conv-row-columns.js';
import { MAX_ROW_TAPS } from './conv-rows.js';
import type { EmittedKernel } from './kernel.js';
import { LOWEST_BITS, type WindowPoolSpec } from './pool.js';
import { nanPropagatingF32 } from './wgsl-math.js';

// max_pool2d four adjacent outputs of a row at a time, where rows in and out are a multiple of 4
// long: x is read in aligned quads (see conv-row-columns.ts) and each output quad stored at once,
// the window compiled in. lavapipe pays per lane for a load or store whatever its width, and the
// one-output kernel (pool.ts) gathers every tap: PP-OCR cls's 2x2 pool over 200x2x96 took
// 0.08 instead of 0.14 ms (minima of 9 trials).

const WG = 64;

/** Window parameters the kernel compiles in; larger ones (refused or not) are the one-output kernel's. */
const MAX_WINDOW_PARAM = 1 << 16;

/** Whether the quad kernel serves a pool: max over float rows in and out a multiple of 4 long, a window it unrolls. */
export function maxPoolRowsApplies(spec: WindowPoolSpec): boolean {
  const g = spec.geometry;
  const params = [g.h, g.w].flatMap((a) => [a.kernel, a.stride, a.dilation, a.padBefore]);
  return spec.mode === 'max' && (spec.dtype === 'f32' || spec.dtype === 'f16') && dIsMultiple(g.inW, 4) && dIsMultiple(g.outW, 4)
    && g.h.kernel * g.w.kernel <= MAX_ROW_TAPS && params.every((p) => p < MAX_WINDOW_PARAM);
}

/** max_pool2d over x [N,C,H,W], four outputs of a row an invocation. */
export function emitMaxPoolRows(spec: WindowPoolSpec): EmittedKernel {
  const g = spec.geometry;
  const t = wgslType(spec.dtype);
  const quads = dMul(g.batch, g.channels, g.outH, dCeilDiv(g.outW, 4));
  const m = new KernelModule();
  m.uniforms.scalar('total', quads).scalar('H', g.inH).scalar('W', g.inW).scalar('OH', g.outH).scalar('OW', g.outW).scalar('lowest', LOWEST_BITS.f32!);
  m.readVec4('x', spec.dtype, spec.sources.x);
  m.writeVec4('out', spec.dtype, spec.sources.out);
  const window = { kernelW: g.w.kernel, strideW: g.w.stride, dilationW: g.w.dilation, padLeft: g.w.padBefore };
  // Output column p of the quad at tap kw reads offset p * sw + kw * dw from its first window start.
  const offset = (p: number, kw: number) => p * g.w.stride + kw * g.w.dilation;
  const offsets = windowOffsets(4, g.w.kernel, offset);
  const columns = rowColumns(window, offsets, true);
  const L = [
    '  let ow0 = (i % (u.OW / 4u)) * 4u;', '  let row = i / (u.OW / 4u);', '  let oh = row % u.OH;', '  let xp = (row / u.OH) * u.H * u.W;',
    '  let H = i32(u.H);', '  let W = i32(u.W);', '  let lowest = bitcast<f32>(u.lowest);',
    ...columns.setup,
    ...[0, 1, 2, 3].map((p) => `  var best${p} = lowest;`),
  ];
  for (let kh = 0; kh < g.h.kernel; kh++) {
    L.push(`  let ih${kh} = i32(oh * ${g.h.stride}u) + ${kh * g.h.dilation - g.h.padBefore};`, `  if (ih${kh} >= 0 && ih${kh} < H) {`, `    let xr = xp + u32(ih${kh}) * u.W;`);
    // Padding never wins: it reads the lowest value.
    L.push(...columns.load('    ', '', 'lowest'));
    // NaN propagates, as on the CPU and in PyTorch (WGSL's max would drop it).
    for (let p = 0; p < 4; p++) for (let kw = 0; kw < g.w.kernel; kw++) L.push(`    best${p} = ${nanPropagatingF32('max', `best${p}`, `v${offset(p, kw)}`)};`);
    L.push('  }');
  }
  L.push(`  out[i] = vec4<${t}>(vec4<f32>(best0, best1, best2, best3));`);
  return m.flat(spec.name, WG, 'u.total', quads, L);
}
