import type { EmittedKernel } from './kernel.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import { KernelModule, type Source } from '../kernel-module.js';

/** deform_conv2d: x [N,C,H,W], w [M,C/groups,kH,kW], offset, bias [M], mask -> [N,M,oH,oW]. */
export interface DeformConvKernelSpec {
  readonly name: string;
  readonly x: readonly Dim[];
  readonly out: readonly Dim[];
  readonly kernel: readonly [number, number];
  readonly inPerGroup: number;
  readonly groups: number;
  readonly offsetGroups: number;
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly sources: { readonly x: Source; readonly w: Source; readonly offset: Source; readonly bias: Source; readonly mask: Source; readonly out: Source };
}

const WG = 64;

/** A bilinear read of an h x w plane at (y, x), neighbours outside reading zero (the CPU reference's). */
const BILINEAR_FN = [
  'fn kiln_dc_at(plane: u32, i: i32, j: i32, h: i32, w: i32) -> f32 {',
  '  if (i < 0 || i >= h || j < 0 || j >= w) { return 0.0; }',
  '  return x[plane + u32(i * w + j)];',
  '}',
  'fn kiln_dc_bilinear(plane: u32, h: i32, w: i32, yc: f32, xc: f32) -> f32 {',
  '  let y0 = floor(yc); let x0 = floor(xc);',
  '  let ly = yc - y0; let lx = xc - x0;',
  '  let i = i32(y0); let j = i32(x0);',
  '  return (1.0 - ly) * ((1.0 - lx) * kiln_dc_at(plane, i, j, h, w) + lx * kiln_dc_at(plane, i, j + 1, h, w))',
  '    + ly * ((1.0 - lx) * kiln_dc_at(plane, i + 1, j, h, w) + lx * kiln_dc_at(plane, i + 1, j + 1, h, w));',
  '}',
].join('\n');

/**
 * Emits deform_conv2d, an invocation per output element: its group's input channels over the
 * kernel's taps, each tap moved by its offset (dy, dx), read bilinearly (zero outside), scaled by
 * the mask and the weight, as the CPU reference sums them.
 */
export function emitDeformConv(spec: DeformConvKernelSpec): EmittedKernel {
  const [, c, h, w] = spec.x;
  const [, m, oh, ow] = spec.out;
  const [kh, kw] = spec.kernel;
  const taps = kh * kw;
  const n = dNumel(spec.out);
  const km = new KernelModule();
  km.uniforms.scalar('n', n).scalar('c', c!).scalar('h', h!).scalar('w', w!).scalar('m', m!).scalar('oplane', dNumel([oh!, ow!])).scalar('ow', ow!);
  km.read('x', 'f32', spec.sources.x);
  km.read('weight', 'f32', spec.sources.w);
  km.read('offset', 'f32', spec.sources.offset);
  km.read('bias', 'f32', spec.sources.bias);
  km.read('mask', 'f32', spec.sources.mask);
  km.write('out', 'f32', spec.sources.out);
  km.declare(BILINEAR_FN);
  const mPerGroup = `(u.m / ${spec.groups}u)`;
  const cPerOffsetGroup = `(u.c / ${spec.offsetGroups}u)`;
  const body = [
    '  let pos = i % u.oplane;',
    '  let oc = (i / u.oplane) % u.m;',
    '  let b = i / (u.oplane * u.m);',
    '  let yo = i32(pos / u.ow); let xo = i32(pos % u.ow);',
    `  let g = oc / ${mPerGroup};`,
    '  let H = i32(u.h); let W = i32(u.w);',
    '  var sum = bias[oc];',
    `  for (var k = 0u; k < ${spec.inPerGroup}u; k++) {`,
    `    let ic = g * ${spec.inPerGroup}u + k;`,
    `    let og = ic / ${cPerOffsetGroup};`,
    '    let plane = (b * u.c + ic) * u.h * u.w;',
    `    for (var t = 0u; t < ${taps}u; t++) {`,
    `      let ti = i32(t / ${kw}u); let tj = i32(t % ${kw}u);`,
    `      let pair = (b * ${spec.offsetGroups}u + og) * ${taps}u + t;`,
    '      let dy = offset[(2u * pair) * u.oplane + pos];',
    '      let dx = offset[(2u * pair + 1u) * u.oplane + pos];',
    '      let scale = mask[pair * u.oplane + pos];',
    `      let sy = f32(yo * ${spec.stride[0]} - ${spec.padding[0]} + ti * ${spec.dilation[0]}) + dy;`,
    `      let sx = f32(xo * ${spec.stride[1]} - ${spec.padding[1]} + tj * ${spec.dilation[1]}) + dx;`,
    `      sum += weight[(oc * ${spec.inPerGroup}u + k) * ${taps}u + t] * kiln_dc_bilinear(plane, H, W, sy, sx) * scale;`,
    '    }',
    '  }',
    '  out[i] = sum;',
  ];
  return km.flat(spec.name, WG, 'u.n', n, body);
}
