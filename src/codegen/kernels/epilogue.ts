import type { DType } from '../../ir/types.js';
import type { Dim } from '../../ir/size-expr.js';
import { operandIndex, operandIndexing } from './elementwise.js';
import { unravel, type KernelModule, type Source } from '../kernel-module.js';
import { wgslType, type UniformBlock } from '../wgsl.js';

/**
 * Elementwise work fused after an anchor kernel (conv, matmul): each stored value `v` (the
 * anchor's f32 result at flat output index `i`) passes through `body` together with extra
 * operands read at broadcast offsets of `i`. Emitted as one WGSL function `epilogue(v, i)`.
 */
export interface Epilogue {
  /** Named after its ops, e.g. `add_relu`. */
  readonly name: string;
  /**
   * Extra operands: the node value each is, and its element strides in the anchor's output
   * coordinates (0 where broadcast); or, for a one-element constant (see scalarConstant), its
   * `value`, passed in the uniform block instead of bound.
   */
  readonly operands: readonly EpilogueOperand[];
  readonly outShape: readonly Dim[];
  readonly outDType: DType;
  /** The stored value from `v` (an f32 expression) and the operand loads `xs`. */
  readonly body: (v: string, xs: readonly string[]) => string;
  /** WGSL declarations the body calls (its function, helpers). */
  readonly helpers: readonly string[];
}

/** One of an epilogue's extra operands (see Epilogue.operands). */
export interface EpilogueOperand {
  readonly dtype: DType;
  readonly strides: readonly Dim[];
  readonly source: Source;
  readonly value?: number;
}

/**
 * A constant operand's value as a uniform word `name` of `u` (its bits), and the WGSL reading it
 * in its dtype: kernels of nodes with other constants stay one shader.
 */
function uniformValue(u: UniformBlock, name: string, x: number, dtype: DType): string {
  if (dtype === 'f32' || dtype === 'f16') {
    u.f32(name, x);
    return dtype === 'f16' ? `f16(bitcast<f32>(u.${name}))` : `bitcast<f32>(u.${name})`;
  }
  u.scalar(name, x >>> 0);
  return dtype === 'u32' ? `u.${name}` : `bitcast<i32>(u.${name})`;
}

/**
 * What an epilogue's WGSL is called: its function, and the prefix of its operands' bindings and
 * uniforms (`e0`, `eshape`...). A kernel running two anchors' work (conv-pointwise-pair.ts) names
 * its second epilogue apart.
 */
export interface EpilogueNames {
  readonly fn: string;
  readonly operand: string;
}

const EPILOGUE: EpilogueNames = { fn: 'epilogue', operand: 'e' };

/** `fn epilogue(v: f32, i: u32) -> T`, reading its operands `e0, e1...` and their strides from the uniforms. */
export function declareEpilogue(m: KernelModule, epi: Epilogue, names = EPILOGUE): void {
  const e = names.operand;
  // Operands laid out like the output are read at `i` itself, scalars at 0, per-channel ones along their axis.
  const indexing = epi.operands.map((o) => operandIndexing(o.strides, epi.outShape));
  const strided = epi.operands.map((_, k) => k).filter((k) => indexing[k] === 'strided' && epi.operands[k]!.value === undefined);
  if (strided.length) {
    m.uniforms.array(`${e}shape`, epi.outShape);
    for (const k of strided) m.uniforms.array(`${e}s${k}`, epi.operands[k]!.strides);
  }
  const xs = epi.operands.map((o, k) => (o.value !== undefined ? uniformValue(m.uniforms, `${e}v${k}`, o.value, o.dtype)
    : `${m.read(`${e}${k}`, o.dtype, o.source)}[${operandIndex(m, indexing[k]!, k, o.strides, epi.outShape, `${e}ax`)}]`));
  const t = wgslType(epi.outDType);
  const offsets = unravel('i', epi.outShape.length, `u_${e}shape`, strided.map((k) => ({ name: `o${k}`, strides: `u_${e}s${k}` })));
  m.declare(...epi.helpers, [`fn ${names.fn}(v: f32, i: u32) -> ${t} {`, ...offsets, `  return ${t}(${epi.body('v', xs)});`, '}'].join('\n'));
}

/** The value an output stores for f32 value `v` at flat index `i`: through the epilogue (named `names`), or converted to `dtype`. */
export function storedValue(epi: Epilogue | undefined, dtype: DType, names = EPILOGUE): (v: string, i: string) => string {
  return epi ? (v, i) => `${names.fn}(${v}, ${i})` : (v) => `${wgslType(dtype)}(${v})`;
}

/**
 * Declares an anchor kernel's output `name` (node value `out`) and, when there is one, the
 * epilogue with its operands; returns the statement storing f32 value `v` at flat index `i`.
 */
export function declareOutput(m: KernelModule, epi: Epilogue | undefined, dtype: DType, out: Source, name = 'out'): (i: string, v: string) => string {
  if (epi) declareEpilogue(m, epi, EPILOGUE);
  m.write(name, epi?.outDType ?? dtype, out);
  const value = storedValue(epi, dtype);
  return (i, v) => `${name}[${i}] = ${value(v, i)};`;
}

/** How a kernel stores into an output bound as vec4s (see declareOutputVec4). */
export interface OutputVec4 {
  readonly store4: (i: string, vs: readonly string[]) => string;
  readonly store: (i: string, v: string) => string;
  readonly value: (v: string, i: string) => string;
}

/**
 * As declareOutput, with the output declared as vec4s: `store4(i, vs)` stores f32 values `vs`
 * (four) at flat indices i .. i + 3, `i` a multiple of 4, each passing the epilogue at its own
 * index; `store(i, v)` one value, as a vector component; `value(v, i)` the value stored for `v` at
 * `i`. On lavapipe a store costs about the same per lane whatever its width, so four columns a
 * store cost a quarter as much.
 */
export function declareOutputVec4(m: KernelModule, epi: Epilogue | undefined, dtype: DType, out: Source, name = 'out', names = EPILOGUE): OutputVec4 {
  if (epi) declareEpilogue(m, epi, names);
  const t = wgslType(epi?.outDType ?? dtype);
  m.writeVec4(name, epi?.outDType ?? dtype, out);
  const value = storedValue(epi, dtype, names);
  return {
    value,
    store4: (i, vs) => `${name}[(${i}) / 4u] = vec4<${t}>(${vs.map((v, k) => value(v, `(${i}) + ${k}u`)).join(', ')});`,
    store: (i, v) => `${name}[(${i}) / 4u][(${i}) % 4u] = ${value(v, i)};`,
  };
}
