import type { EmittedKernel } from './kernel.js';
import type { DType } from '../../ir/types.js';
import { dMul, type Dim } from '../../ir/size-expr.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { wgslType } from '../wgsl.js';
import { isNanF32 } from './wgsl-math.js';

// Scans and selections along one axis, the data viewed as [outer, extent, inner] around it: an
// invocation per line (each outer and inner position), walking the line in order. A line is
// sequential (a scan) or ranked against itself (top_k), and PP-OCR-sized uses are short lines:
// the simple kernel, not a parallel prefix scan or a bitonic sort.

/** A line of `extent` elements along the axis, `outer` and `inner` around it. */
export interface LineLayout {
  readonly outer: Dim;
  readonly extent: Dim;
  readonly inner: Dim;
}

/** cumsum or cumprod along the axis, as ONNX CumSum/CumProd (`exclusive`, `reverse`). */
export interface ScanKernelSpec extends LineLayout {
  readonly name: string;
  readonly op: 'cumsum' | 'cumprod';
  readonly dtype: DType;
  readonly exclusive: boolean;
  readonly reverse: boolean;
  readonly sources: { readonly x: Source; readonly out: Source };
}

const WG = 64;

/** Declares the layout's uniforms; returns the lines splitting `i` into the line's first element `base`. */
function lineUniforms(m: KernelModule, layout: LineLayout): string[] {
  m.uniforms.scalar('lines', dMul(layout.outer, layout.inner)).scalar('extent', layout.extent).scalar('inner', layout.inner);
  return ['  let base = (i / u.inner) * u.extent * u.inner + i % u.inner;'];
}

/**
 * Emits a cumulative sum or product. Floats accumulate in f32 (f16 too, rounded as stored);
 * integers in their own type, wrapping as 32-bit arithmetic does, as the reference does.
 */
export function emitScan(spec: ScanKernelSpec): EmittedKernel {
  const m = new KernelModule();
  const t = wgslType(spec.dtype);
  const acc = spec.dtype === 'f16' ? 'f32' : t;
  m.read('x', spec.dtype, spec.sources.x);
  m.write('out', spec.dtype, spec.sources.out);
  const step = spec.op === 'cumsum' ? 'acc + v' : 'acc * v';
  const body = [
    ...lineUniforms(m, spec),
    `  var acc = ${acc}(${spec.op === 'cumsum' ? 0 : 1});`,
    '  for (var k = 0u; k < u.extent; k++) {',
    `    let at = base + ${spec.reverse ? '(u.extent - 1u - k)' : 'k'} * u.inner;`,
    `    let v = ${acc}(x[at]);`,
    ...(spec.exclusive ? [`    out[at] = ${t}(acc);`, `    acc = ${step};`] : [`    acc = ${step};`, `    out[at] = ${t}(acc);`]),
    '  }',
  ];
  return m.flat(spec.name, WG, 'u.lines', dMul(spec.outer, spec.inner), body);
}

/** top_k along the axis: the k largest (or smallest) elements of each line and their indices. */
export interface TopKKernelSpec extends LineLayout {
  readonly name: string;
  readonly dtype: DType;
  readonly k: number;
  readonly largest: boolean;
  readonly sources: { readonly x: Source; readonly values: Source; readonly indices: Source };
}

/**
 * Emits top_k: k passes over each line, each taking the element that ranks next after the last
 * taken, in the reference's order: by value (NaN above every number, so first when largest and
 * last when smallest), equal elements by index, the lower first. O(k x extent) a line.
 */
export function emitTopK(spec: TopKKernelSpec): EmittedKernel {
  const m = new KernelModule();
  const t = wgslType(spec.dtype);
  m.read('x', spec.dtype, spec.sources.x);
  m.write('values', spec.dtype, spec.sources.values);
  m.write('indices', 'i32', spec.sources.indices);
  m.uniforms.scalar('k', spec.k);
  // By its bits: WGSL lets a compiler assume no NaN, so `v != v` may fold to false. An f16 NaN stays NaN in f32.
  const nan = (v: string) => (spec.dtype === 'f32' ? isNanF32(v) : spec.dtype === 'f16' ? isNanF32(`f32(${v})`) : 'false');
  // Whether (a, ia) ranks before (b, ib).
  const beats = spec.largest
    ? `(an && !bn) || (!an && !bn && a > b) || (((an && bn) || (!an && !bn && a == b)) && ia < ib)`
    : `(!an && bn) || (!an && !bn && a < b) || (((an && bn) || (!an && !bn && a == b)) && ia < ib)`;
  m.declare(`fn ranks_before(a: ${t}, ia: u32, b: ${t}, ib: u32) -> bool {\n  let an = ${nan('a')};\n  let bn = ${nan('b')};\n  return ${beats};\n}`);
  const body = [
    ...lineUniforms(m, spec),
    // The output line: k elements along the axis, with the same outer and inner positions.
    '  let obase = (i / u.inner) * u.k * u.inner + i % u.inner;',
    `  var last = ${t}(0);`,
    '  var lastAt = 0u;',
    '  for (var j = 0u; j < u.k; j++) {',
    `    var best = ${t}(0);`,
    '    var bestAt = u.extent;',
    '    for (var e = 0u; e < u.extent; e++) {',
    '      let v = x[base + e * u.inner];',
    '      if (j > 0u && !ranks_before(last, lastAt, v, e)) { continue; }',
    '      if (bestAt == u.extent || ranks_before(v, e, best, bestAt)) { best = v; bestAt = e; }',
    '    }',
    '    values[obase + j * u.inner] = best;',
    '    indices[obase + j * u.inner] = i32(bestAt);',
    '    last = best;',
    '    lastAt = bestAt;',
    '  }',
  ];
  return m.flat(spec.name, WG, 'u.lines', dMul(spec.outer, spec.inner), body);
}
