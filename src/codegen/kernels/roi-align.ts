import type { EmittedKernel } from './kernel.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import { wgslFloat } from '../../ir/wgsl-literal.js';
import { KernelModule, type Source } from '../kernel-module.js';

/** roi_align: X [N, C, H, W] pooled over boxes rois [R, 4] of images batch_indices [R] into [R, C, OH, OW]. */
export interface RoiAlignKernelSpec {
  readonly name: string;
  readonly x: readonly Dim[];
  readonly rois: Dim;
  readonly mode: 'avg' | 'max';
  readonly outputHeight: number;
  readonly outputWidth: number;
  readonly samplingRatio: number;
  readonly spatialScale: number;
  readonly halfPixel: boolean;
  readonly sources: { readonly x: Source; readonly rois: Source; readonly batch: Source; readonly out: Source };
}

const WG = 64;

/**
 * The four taps of a bilinear sample at (y, x) of an h x w plane and their weights, as the CPU
 * reference's: a point more than one pixel outside reads nothing (weights 0), one within a pixel
 * of the border is clamped to the edge.
 */
const BILINEAR_FN = [
  'struct KilnBilinear { at: vec4<u32>, w: vec4<f32> }',
  'fn kiln_roi_axis(v: f32, size: u32) -> vec3<f32> {',
  '  let c = max(v, 0.0);',
  '  let lo = u32(trunc(c));',
  '  if (lo >= size - 1u) { return vec3<f32>(f32(size - 1u), f32(size - 1u), 0.0); }',
  '  return vec3<f32>(f32(lo), f32(lo + 1u), c - f32(lo));',
  '}',
  'fn kiln_roi_bilinear(y: f32, x: f32, h: u32, w: u32) -> KilnBilinear {',
  '  var s: KilnBilinear;',
  '  if (y < -1.0 || y > f32(h) || x < -1.0 || x > f32(w)) { return s; }',
  '  let ay = kiln_roi_axis(y, h);',
  '  let ax = kiln_roi_axis(x, w);',
  '  let y0 = u32(ay.x); let y1 = u32(ay.y); let x0 = u32(ax.x); let x1 = u32(ax.y);',
  '  s.at = vec4<u32>(y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1);',
  '  s.w = vec4<f32>((1.0 - ay.z) * (1.0 - ax.z), (1.0 - ay.z) * ax.z, ay.z * (1.0 - ax.z), ay.z * ax.z);',
  '  return s;',
  '}',
].join('\n');

/**
 * Emits roi_align, an invocation per output element (box, channel, bin): the bin's sampling
 * grid (sampling_ratio per axis, or ceil of the bin's size), each point bilinearly interpolated,
 * averaged (avg) or the largest weighted tap kept (max, ONNX Runtime's definition). A batch
 * index out of range gives zeros; the CPU reference rejects it.
 */
export function emitRoiAlign(spec: RoiAlignKernelSpec): EmittedKernel {
  const [, c, h, w] = spec.x;
  const [oh, ow] = [spec.outputHeight, spec.outputWidth];
  const n = dNumel([spec.rois, c!, oh, ow]);
  const f = (v: number) => wgslFloat(v, 'f32');
  const m = new KernelModule();
  m.uniforms.scalar('n', n).scalar('batch', spec.x[0]!).scalar('c', c!).scalar('h', h!).scalar('w', w!);
  m.read('x', 'f32', spec.sources.x);
  m.read('rois', 'f32', spec.sources.rois);
  m.read('batch_indices', 'i32', spec.sources.batch);
  m.write('out', 'f32', spec.sources.out);
  m.declare(BILINEAR_FN);
  const offset = spec.halfPixel ? 0.5 : 0;
  const grid = (size: string, bins: number) => (spec.samplingRatio > 0 ? `${spec.samplingRatio}u` : `u32(ceil(${size} / ${f(bins)}))`);
  const body = [
    `  let pw = i % ${ow}u;`,
    `  let ph = (i / ${ow}u) % ${oh}u;`,
    `  let ch = (i / ${oh * ow}u) % u.c;`,
    `  let roi = i / (${oh * ow}u * u.c);`,
    '  let b = batch_indices[roi];',
    '  if (b < 0 || u32(b) >= u.batch) { out[i] = 0.0; return; }',
    ...['x1', 'y1', 'x2', 'y2'].map((v, k) => `  let ${v} = rois[roi * 4u + ${k}u] * ${f(spec.spatialScale)} - ${f(offset)};`),
    // output_half_pixel forces malformed boxes to at least 1x1 (ONNX's legacy rule).
    spec.halfPixel ? '  let roi_w = x2 - x1; let roi_h = y2 - y1;' : '  let roi_w = max(x2 - x1, 1.0); let roi_h = max(y2 - y1, 1.0);',
    `  let bin_h = roi_h / ${f(oh)}; let bin_w = roi_w / ${f(ow)};`,
    `  let grid_h = ${grid('roi_h', oh)}; let grid_w = ${grid('roi_w', ow)};`,
    '  let plane = (u32(b) * u.c + ch) * u.h * u.w;',
    spec.mode === 'avg' ? '  var acc = 0.0;' : '  var acc = 0.0; var seen = false;',
    '  for (var iy = 0u; iy < grid_h; iy++) {',
    '    let sy = y1 + f32(ph) * bin_h + (f32(iy) + 0.5) * bin_h / f32(grid_h);',
    '    for (var ix = 0u; ix < grid_w; ix++) {',
    '      let s = kiln_roi_bilinear(sy, x1 + f32(pw) * bin_w + (f32(ix) + 0.5) * bin_w / f32(grid_w), u.h, u.w);',
    '      let t = s.w * vec4<f32>(x[plane + s.at.x], x[plane + s.at.y], x[plane + s.at.z], x[plane + s.at.w]);',
    spec.mode === 'avg'
      ? '      acc += t.x + t.y + t.z + t.w;'
      : '      let top = max(max(t.x, t.y), max(t.z, t.w)); acc = select(top, max(acc, top), seen); seen = true;',
    '    }',
    '  }',
    // A bin without samples (an empty box) gives 0 in both modes.
    spec.mode === 'avg' ? '  out[i] = acc / f32(max(grid_h * grid_w, 1u));' : '  out[i] = acc;',
  ];
  return m.flat(spec.name, WG, 'u.n', n, body);
}
