import type { DType } from '../../ir/types.js';
import type { Dim } from '../../ir/size-expr.js';
import { operandIndex, operandIndexing } from './elementwise.js';
import { unravel, type KernelModule, type Source } from '../kernel-module.js';
import { wgslType } from '../wgsl.js';

/**
 * Elementwise work fused after an anchor kernel (conv, matmul): each stored value `v` (the
 * anchor's f32 result at flat output index `i`) passes through `body` together with extra
 * operands read at broadcast offsets of `i`. Emitted as one WGSL function `epilogue(v, i)`.
 */
export interface Epilogue {
  /** Named after its ops, e.g. `add_relu`. */
  readonly name: string;
  /** Extra operands: the node value each is, and its element strides in the anchor's output coordinates (0 where broadcast). */
  readonly operands: readonly { readonly dtype: DType; readonly strides: readonly Dim[]; readonly source: Source }[];
  readonly outShape: readonly Dim[];
  readonly outDType: DType;
  /** The stored value from `v` (an f32 expression) and the operand loads `xs`. */
  readonly body: (v: string, xs: readonly string[]) => string;
  /** WGSL declarations the body calls (its function, helpers). */
  readonly helpers: readonly string[];
}


/** `fn epilogue(v: f32, i: u32) -> T`, reading its operands `e0, e1...` and their strides from the uniforms. */
function declareEpilogue(m: KernelModule, epi: Epilogue): void {
  // Operands laid out like the output are read at `i` itself, scalars at 0, per-channel ones along their axis.
  const indexing = epi.operands.map((o) => operandIndexing(o.strides, epi.outShape));
  const strided = epi.operands.map((_, k) => k).filter((k) => indexing[k] === 'strided');
  if (strided.length) {
    m.uniforms.array('eshape', epi.outShape);
    for (const k of strided) m.uniforms.array(`es${k}`, epi.operands[k]!.strides);
  }
  const xs = epi.operands.map((o, k) => `${m.read(`e${k}`, o.dtype, o.source)}[${operandIndex(m, indexing[k]!, k, o.strides, epi.outShape, 'eax')}]`);
  const t = wgslType(epi.outDType);
  const offsets = unravel('i', epi.outShape.length, 'u_eshape', strided.map((k) => ({ name: `o${k}`, strides: `u_es${k}` })));
  m.declare(...epi.helpers, [`fn epilogue(v: f32, i: u32) -> ${t} {`, ...offsets, `  return ${t}(${epi.body('v', xs)});`, '}'].join('\n'));
}

/**
 * Declares an anchor kernel's output `name` (node value `out`) and, when there is one, the
 * epilogue with its operands; returns the statement storing f32 value `v` at flat index `i`.
 */
export function declareOutput(m: KernelModule, epi: Epilogue | undefined, dtype: DType, out: Source, name = 'out'): (i: string, v: string) => string {
  if (epi) declareEpilogue(m, epi);
  m.write(name, epi?.outDType ?? dtype, out);
  return epi ? (i, v) => `${name}[${i}] = epilogue(${v}, ${i});` : (i, v) => `${name}[${i}] = ${wgslType(dtype)}(${v});`;
}

/**
 * As declareOutput, with the output declared as vec4s: `store4(i, vs)` stores f32 values `vs`
 * (four) at flat indices i .. i + 3, `i` a multiple of 4, each passing the epilogue at its own
 * index; `store(i, v)` one value, as a vector component. On lavapipe a store costs about the same
 * per lane whatever its width, so four columns a store cost a quarter as much.
 */
export function declareOutputVec4(m: KernelModule, epi: Epilogue | undefined, dtype: DType, out: Source, name = 'out'): { store4: (i: string, vs: readonly string[]) => string; store: (i: string, v: string) => string } {
  if (epi) declareEpilogue(m, epi);
  const t = wgslType(epi?.outDType ?? dtype);
  m.writeVec4(name, epi?.outDType ?? dtype, out);
  const value = (v: string, i: string) => (epi ? `epilogue(${v}, ${i})` : `${t}(${v})`);
  return {
    store4: (i, vs) => `${name}[(${i}) / 4u] = vec4<${t}>(${vs.map((v, k) => value(v, `(${i}) + ${k}u`)).join(', ')});`,
    store: (i, v) => `${name}[(${i}) / 4u][(${i}) % 4u] = ${value(v, i)};`,
  };
}
