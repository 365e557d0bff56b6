import type { EmittedKernel } from './kernel.js';
import { stridesOf, type DType } from '../../ir/types.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import type { PadMode } from '../../ir/ops/slice-pad.js';
import { f32ToF16Bits } from '../../ir/f16.js';
import { KernelModule, type Source } from '../kernel-module.js';
import { movedDType } from './copy.js';

/** A pad: each output element reads the input at its coordinate minus `begin`, mapped by the mode. */
export interface PadKernelSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly inShape: readonly Dim[];
  readonly outShape: readonly Dim[];
  /** Pad before each axis (negative crops). */
  readonly begin: readonly number[];
  readonly mode: PadMode;
  /** Per axis, the part wrap padding repeats (wrapWindow); wrap mode only. */
  readonly wraps?: readonly { readonly lo: number; readonly len: number }[];
  /** The constant as stored in the tensor (integers truncated, bool 0/1); constant mode only. */
  readonly value: number;
  /** The node values bound for the input and the output. */
  readonly sources: { readonly x: Source; readonly out: Source };
}

const WG = 256;

/** Bits of the constant in the kernel's storage type, so the value is a uniform and not part of the shader. */
function valueBits(dtype: DType, value: number): number {
  const word = new DataView(new ArrayBuffer(4));
  if (dtype === 'f32') word.setFloat32(0, value, true);
  else if (dtype === 'f16') word.setUint32(0, f32ToF16Bits(value), true);
  else word.setInt32(0, value, true);
  return word.getUint32(0, true);
}

/** WGSL lines that turn `j` (i32, the coordinate minus the pad) into an index inside an axis of `len`. */
function sourceIndexLines(mode: PadMode): string[] {
  switch (mode) {
    case 'constant': return ['    if (j < 0 || j >= len) { inside = false; }'];
    case 'edge': return ['    j = clamp(j, 0, len - 1);'];
    case 'wrap': return [
      '    let lo = i32(u_wrap_lo(d - 1u));',
      '    let period = i32(u_wrap_len(d - 1u));',
      '    j = lo + (((j - lo) % period) + period) % period;',
    ];
    case 'reflect': return [
      // Mirror without repeating the edge, periodically (NumPy) when the pad is wider than the axis.
      '    if (len == 1) { j = 0; } else {',
      '      let period = 2 * (len - 1);',
      '      j = ((j % period) + period) % period;',
      '      if (j >= len) { j = period - j; }',
      '    }',
    ];
  }
}

/** Emits a pad kernel; shapes, pads and the constant are uniforms, the mode is baked into the text. */
export function emitPad(spec: PadKernelSpec): EmittedKernel {
  const rank = spec.outShape.length;
  const n = dNumel(spec.outShape);
  const t = movedDType(spec.dtype);
  const inStrides = stridesOf(spec.inShape);
  const m = new KernelModule();
  m.uniforms
    .array('out_shape', spec.outShape).array('in_shape', spec.inShape).array('in_strides', inStrides).array('begin', spec.begin)
    .scalar('n', n).scalar('value', valueBits(spec.dtype, spec.value));
  if (spec.mode === 'wrap') {
    const wraps = spec.wraps ?? spec.inShape.map((d) => ({ lo: 0, len: d }));
    m.uniforms.array('wrap_lo', wraps.map((w) => w.lo)).array('wrap_len', wraps.map((w) => w.len));
  }
  m.read('src', t, spec.sources.x);
  m.write('dst', t, spec.sources.out);
  const fill = t === 'f16' ? 'bitcast<vec2<f16>>(u.value).x' : 'u.value';
  // Not `unravel`: each coordinate is also mapped by the mode before it strides the input.
  const body = [
    '  var rem = i;',
    '  var s = 0u;',
    '  var inside = true;',
    `  for (var d = ${rank}u; d > 0u; d--) {`,
    '    let c = rem % u_out_shape(d - 1u);',
    '    rem = rem / u_out_shape(d - 1u);',
    '    let len = i32(u_in_shape(d - 1u));',
    '    var j = i32(c) - bitcast<i32>(u_begin(d - 1u));',
    ...sourceIndexLines(spec.mode),
    '    s += u32(j) * u_in_strides(d - 1u);',
    '  }',
    spec.mode === 'constant' ? `  if (inside) { dst[i] = src[s]; } else { dst[i] = ${fill}; }` : '  dst[i] = src[s];',
  ];
  return m.flat(spec.name, WG, 'u.n', n, body);
}
