import type { DType } from '../../ir/types.js';
import { stridesOf } from '../../ir/types.js';
import { storageDecl, UniformBlock, wgslType } from '../wgsl.js';

/**
 * Elementwise work fused after an anchor kernel (conv, matmul): each stored value `v` (the
 * anchor's f32 result at flat output index `i`) passes through `body` together with extra
 * operands read at broadcast offsets of `i`. Emitted as one WGSL function `epilogue(v, i)`.
 */
export interface Epilogue {
  /** Named after its ops, e.g. `add_relu`. */
  readonly name: string;
  /** Extra operands, with element strides in the anchor's output coordinates (0 where broadcast). */
  readonly operands: readonly { readonly dtype: DType; readonly strides: readonly number[] }[];
  readonly outShape: readonly number[];
  readonly outDType: DType;
  /** The stored value from `v` (an f32 expression) and the operand loads `xs`. */
  readonly body: (v: string, xs: readonly string[]) => string;
  /** WGSL helper functions the body calls. */
  readonly helpers: readonly string[];
}

/** Operands laid out like the output are read at `i` itself, without index arithmetic. */
function isDirect(epi: Epilogue, k: number): boolean {
  const dense = stridesOf(epi.outShape);
  return epi.operands[k]!.strides.every((s, d) => s === dense[d] || epi.outShape[d] === 1);
}

/** Storage declarations `e0, e1, ...` starting at `firstBinding`. */
export function epilogueDecls(epi: Epilogue, firstBinding: number): string[] {
  return epi.operands.map((o, k) => storageDecl(firstBinding + k, `e${k}`, o.dtype, 'read'));
}

/** Adds the output shape and operand strides the epilogue needs to the kernel's uniforms. */
export function addEpilogueUniforms(u: UniformBlock, epi: Epilogue): void {
  const strided = epi.operands.map((_, k) => k).filter((k) => !isDirect(epi, k));
  if (!strided.length) return;
  u.array('eshape', epi.outShape);
  for (const k of strided) u.array(`es${k}`, epi.operands[k]!.strides);
}

/** `fn epilogue(v: f32, i: u32) -> T` plus its helpers. */
export function epilogueFunction(epi: Epilogue): string {
  const t = wgslType(epi.outDType);
  const L: string[] = [...new Set(epi.helpers), `fn epilogue(v: f32, i: u32) -> ${t} {`];
  const strided = epi.operands.map((_, k) => k).filter((k) => !isDirect(epi, k));
  if (strided.length) {
    L.push('  var rem = i;');
    for (const k of strided) L.push(`  var o${k} = 0u;`);
    L.push(`  for (var d = ${epi.outShape.length}u; d > 0u; d--) {`, '    let c = rem % u_eshape(d - 1u);', '    rem = rem / u_eshape(d - 1u);');
    for (const k of strided) L.push(`    o${k} += c * u_es${k}(d - 1u);`);
    L.push('  }');
  }
  const xs = epi.operands.map((_, k) => `e${k}[${isDirect(epi, k) ? 'i' : `o${k}`}]`);
  L.push(`  return ${t}(${epi.body('v', xs)});`, '}');
  return L.join('\n');
}

/**
 * The declarations an anchor kernel ends its bindings with: the epilogue's operands (if any)
 * from `firstBinding`, then `out` (of the epilogue's dtype), and the epilogue function; `next`
 * is the binding left for the uniform block.
 */
export function epilogueAndOutput(epi: Epilogue | undefined, firstBinding: number, outDType: DType): { decls: string[]; next: number } {
  const decls = epi ? epilogueDecls(epi, firstBinding) : [];
  const outAt = firstBinding + decls.length;
  decls.push(storageDecl(outAt, 'out', epi?.outDType ?? outDType, 'read_write'));
  if (epi) decls.push(epilogueFunction(epi));
  return { decls, next: outAt + 1 };
}

/** Statement storing f32 value `v` at flat output index `i`, through the epilogue if there is one. */
export function storeThrough(epi: Epilogue | undefined, i: string, v: string, outDType: DType): string {
  return epi ? `out[${i}] = epilogue(${v}, ${i});` : `out[${i}] = ${wgslType(outDType)}(${v});`;
}

/** Every dtype an epilogue brings into a kernel (for `enable f16;`). */
export function epilogueDTypes(epi: Epilogue | undefined): DType[] {
  return epi ? [epi.outDType, ...epi.operands.map((o) => o.dtype)] : [];
}
