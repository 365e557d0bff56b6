import type { ConvGeometry } from '../../ir/ops/conv.js';
import type { DType } from '../../ir/types.js';
import { wgslType } from '../wgsl.js';
import { KernelModule, type Source } from '../kernel-module.js';
import type { EmittedKernel } from './kernel.js';

const WG = 64;
/** Output channels one invocation accumulates (one f32 vector lane each). */
const MAX_CHANNELS = 4;
/** Adjacent kernel columns one invocation accumulates: they read neighbouring input columns. */
const MAX_TAPS = 4;

/** A conv2d weight gradient to emit: the forward convolution's geometry and the element type. */
export interface ConvBackwardWeightSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly geometry: ConvGeometry;
  /** The node values bound for the forward input, the output gradient and the weight gradient. */
  readonly sources: { readonly x: Source; readonly dy: Source; readonly grad: Source };
}

/**
 * Weight gradient of conv2d, gathered per weight element: each invocation owns up to 4 output
 * channels (of one group) times up to 4 adjacent kernel columns of one (input channel, kernel
 * row), and sums dy * x over the batch and every output pixel. Each output-gradient value loaded
 * feeds one FMA per tap, each input value one per channel. Shapes are uniforms, so one shader
 * serves every layer with the same blocking.
 */
export function emitConvBackwardWeight(spec: ConvBackwardWeightSpec): EmittedKernel {
  const g = spec.geometry;
  const TO = Math.min(MAX_CHANNELS, g.outPerGroup);
  const TK = Math.min(MAX_TAPS, g.kernelW);
  const oBlocks = Math.ceil(g.outPerGroup / TO);
  const kwBlocks = Math.ceil(g.kernelW / TK);
  const total = g.groups * oBlocks * g.inPerGroup * g.kernelH * kwBlocks;
  const m = new KernelModule();
  m.uniforms
    .scalar('total', total).scalar('oBlocks', oBlocks).scalar('kwBlocks', kwBlocks)
    .scalar('N', g.batch).scalar('C', g.inChannels).scalar('H', g.inH).scalar('W', g.inW)
    .scalar('O', g.outChannels).scalar('OH', g.outH).scalar('OW', g.outW)
    .scalar('Cg', g.inPerGroup).scalar('Og', g.outPerGroup).scalar('KH', g.kernelH).scalar('KW', g.kernelW)
    .scalar('sh', g.strideH).scalar('sw', g.strideW).scalar('dh', g.dilationH).scalar('dw', g.dilationW)
    .scalar('pt', g.padTop).scalar('pl', g.padLeft);
  const vec = TO === 1 ? 'f32' : `vec${TO}<f32>`;
  const lane = (v: string, k: number) => (TO === 1 ? v : `${v}[${k}]`);
  const t = wgslType(spec.dtype);
  m.read('x', spec.dtype, spec.sources.x);
  m.read('dy', spec.dtype, spec.sources.dy);
  m.write('grad', spec.dtype, spec.sources.grad);

  const L: string[] = [];
  L.push(`  let kw0 = (i % u.kwBlocks) * ${TK}u;`, '  var r = i / u.kwBlocks;');
  L.push('  let kh = r % u.KH;', '  r = r / u.KH;', '  let ci = r % u.Cg;', '  r = r / u.Cg;');
  L.push(`  let oc0 = (r % u.oBlocks) * ${TO}u;`, '  let grp = r / u.oBlocks;');
  L.push('  let ohw = u.OH * u.OW;', '  let hw = u.H * u.W;');
  // Channels past the group's end read a valid row (clamped) and are never stored.
  for (let k = 0; k < TO; k++) L.push(`  let d${k} = (grp * u.Og + min(oc0 + ${k}u, u.Og - 1u)) * ohw;`);
  L.push('  let xc = (grp * u.Cg + ci) * hw;');
  L.push('  let H = i32(u.H);', '  let W = i32(u.W);', '  let dil = i32(u.dw);');
  for (let p = 0; p < TK; p++) L.push(`  var acc${p} = ${vec}();`);
  L.push('  for (var n = 0u; n < u.N; n++) {');
  L.push('    let xn = n * u.C * hw + xc;', '    let dn = n * u.O * ohw;');
  L.push('    for (var oh = 0u; oh < u.OH; oh++) {');
  L.push('      let ih = i32(oh * u.sh + kh * u.dh) - i32(u.pt);', '      if (ih < 0 || ih >= H) { continue; }');
  L.push('      let xr = xn + u32(ih) * u.W;', '      let dr = dn + oh * u.OW;');
  L.push('      for (var ow = 0u; ow < u.OW; ow++) {');
  L.push(`        let dv = ${vec}(${Array.from({ length: TO }, (_, k) => `f32(dy[dr + d${k} + ow])`).join(', ')});`);
  L.push('        let iwb = i32(ow * u.sw + kw0 * u.dw) - i32(u.pl);');
  for (let p = 0; p < TK; p++) {
    const iw = p === 0 ? 'iwb' : `iwb + ${p} * dil`;
    L.push(`        let iw${p} = ${iw};`);
    // Padded columns contribute zero; the clamp keeps the (discarded) load in bounds.
    L.push(`        acc${p} += select(0.0, f32(x[xr + u32(clamp(iw${p}, 0, W - 1))]), iw${p} >= 0 && iw${p} < W) * dv;`);
  }
  L.push('      }', '    }', '  }');
  L.push('  let kk = u.KH * u.KW;');
  for (let k = 0; k < TO; k++) {
    L.push(`  if (oc0 + ${k}u < u.Og) {`);
    L.push(`    let wo = ((grp * u.Og + oc0 + ${k}u) * u.Cg + ci) * kk + kh * u.KW + kw0;`);
    for (let p = 0; p < TK; p++) L.push(`    if (kw0 + ${p}u < u.KW) { grad[wo + ${p}u] = ${t}(${lane(`acc${p}`, k)}); }`);
    L.push('  }');
  }
  return m.flat(spec.name, WG, 'u.total', total, L);
}
