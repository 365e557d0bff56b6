import type { PoolGeometry } from '../../ir/ops/pool.js';
import type { DType } from '../../ir/types.js';
import { wgslType } from '../wgsl.js';
import { KernelModule, type Source } from '../kernel-module.js';
import type { EmittedKernel } from './kernel.js';
import { isNanF32 } from './wgsl-math.js';

const WG = 64;
/** Bits of f32 -infinity (WGSL rejects infinities in constant expressions). */
const NEG_INF_BITS = 0xff800000;

/**
 * max_pool2d's gradient as a gather, without atomics: one invocation per input element visits
 * every window that contains it, finds that window's winner again (the first maximum in
 * row-major order, as the forward pass and PyTorch pick it) and adds the window's output
 * gradient when the winner is this element. Geometry is uniforms: one shader for every size.
 */
export function emitMaxPoolBackward(name: string, dtype: DType, g: PoolGeometry, sources: { readonly x: Source; readonly dy: Source; readonly dx: Source }): EmittedKernel {
  const total = g.batch * g.channels * g.inH * g.inW;
  const m = new KernelModule();
  m.uniforms
    .scalar('total', total).scalar('H', g.inH).scalar('W', g.inW).scalar('OH', g.outH).scalar('OW', g.outW)
    .scalar('KH', g.h.kernel).scalar('KW', g.w.kernel).scalar('sh', g.h.stride).scalar('sw', g.w.stride)
    .scalar('dh', g.h.dilation).scalar('dw', g.w.dilation).scalar('pt', g.h.padBefore).scalar('pl', g.w.padBefore)
    .scalar('neg_inf', NEG_INF_BITS);
  m.read('x', dtype, sources.x);
  m.read('dy', dtype, sources.dy);
  m.write('dx', dtype, sources.dx);
  const L = [
    '  let iw = i32(i % u.W);',
    '  let ih = i32((i / u.W) % u.H);',
    '  let nc = i / (u.W * u.H);',
    '  let xp = nc * u.H * u.W;',
    '  let dp = nc * u.OH * u.OW;',
    '  let H = i32(u.H);', '  let W = i32(u.W);', '  let sh = i32(u.sh);', '  let sw = i32(u.sw);',
    '  let me = ih * W + iw;',
    '  var acc = 0.0;',
    '  for (var kh = 0u; kh < u.KH; kh++) {',
    '    let th = ih + i32(u.pt) - i32(kh * u.dh);',
    '    if (th < 0 || th % sh != 0 || th / sh >= i32(u.OH)) { continue; }',
    '    let oh = u32(th / sh);',
    '    for (var kw = 0u; kw < u.KW; kw++) {',
    '      let tw = iw + i32(u.pl) - i32(kw * u.dw);',
    '      if (tw < 0 || tw % sw != 0 || tw / sw >= i32(u.OW)) { continue; }',
    '      let ow = u32(tw / sw);',
    '      var best = bitcast<f32>(u.neg_inf);',
    '      var at = -1;',
    '      for (var a = 0u; a < u.KH; a++) {',
    '        let h2 = i32(oh * u.sh + a * u.dh) - i32(u.pt);',
    '        if (h2 < 0 || h2 >= H) { continue; }',
    '        for (var b = 0u; b < u.KW; b++) {',
    '          let w2 = i32(ow * u.sw + b * u.dw) - i32(u.pl);',
    '          if (w2 < 0 || w2 >= W) { continue; }',
    '          let v = f32(x[xp + u32(h2 * W + w2)]);',
    `          if (at < 0 || v > best || ${isNanF32('v')}) { best = v; at = h2 * W + w2; }`,
    '        }',
    '      }',
    '      if (at == me) { acc += f32(dy[dp + oh * u.OW + ow]); }',
    '    }',
    '  }',
    `  dx[i] = ${wgslType(dtype)}(acc);`,
  ];
  return m.flat(name, WG, 'u.total', total, L);
}
