import type { DType } from '../ir/types.js';
import type { Dim } from '../ir/size-expr.js';
import { KilnError } from '../ir/errors.js';
import { MAX_STORAGE_BINDINGS } from '../ir/fusion.js';
import type { EmittedKernel } from './kernels/kernel.js';
import { enables, FLAT_BUILTINS, flatIndex, grid1d, UniformBlock, wgslType, type WgslExtension } from './wgsl.js';

/**
 * Which node value a storage binding holds: an index into the node's [...inputs, ...outputs]
 * (for a fused node, its operands then its result).
 */
export type Source = number;

interface Storage {
  readonly name: string;
  readonly type: string;
  readonly access: 'read' | 'read_write';
  readonly source: Source;
}

/**
 * One kernel's WGSL module as it is built: storage bindings are declared once, each with the
 * node value it holds, and numbered in declaration order (the uniform block takes the next
 * number); module-scope declarations (helpers, functions, workgroup memory) are kept once each;
 * `enable f16;` is added when any declared or noted dtype needs it. The emitted kernel's
 * `bindings` come from the same declarations, so no kernel states its binding order twice.
 */
export class KernelModule {
  readonly uniforms = new UniformBlock();
  private readonly storages: Storage[] = [];
  private readonly decls: string[] = [];
  private readonly dtypes = new Set<DType>();
  private readonly extensions = new Set<WgslExtension>();
  private maxStorage = MAX_STORAGE_BINDINGS;

  /** Declares a read-only array of `dtype` holding node value `source`; returns `name`. */
  read(name: string, dtype: DType, source: Source): string {
    return this.bind(name, dtype, wgslType(dtype), 'read', source);
  }

  /** Declares a read-only array of vec4s of `dtype` holding node value `source` (four elements a load). */
  readVec4(name: string, dtype: DType, source: Source): string {
    return this.bind(name, dtype, `vec4<${wgslType(dtype)}>`, 'read', source);
  }

  /** Declares the writable array of vec4s of `dtype` holding node value `source` (four elements a store). */
  writeVec4(name: string, dtype: DType, source: Source): string {
    return this.bind(name, dtype, `vec4<${wgslType(dtype)}>`, 'read_write', source);
  }

  /** Declares the writable array of `dtype` holding node value `source`; returns `name`. */
  write(name: string, dtype: DType, source: Source): string {
    return this.bind(name, dtype, wgslType(dtype), 'read_write', source);
  }

  /** Module-scope declarations (helper functions, workgroup arrays); each distinct one is emitted once. */
  declare(...decls: readonly string[]): this {
    for (const d of decls) if (!this.decls.includes(d)) this.decls.push(d);
    return this;
  }

  /**
   * Lets the kernel bind up to `n` storage buffers, beyond the 8 WebGPU guarantees: for kernels
   * made only where the target adapter offers that many (a program's required limits carry it).
   */
  allowStorage(n: number): this {
    this.maxStorage = Math.max(this.maxStorage, n);
    return this;
  }

  /** Notes dtypes the kernel computes in besides its bindings' (an f16 intermediate needs `enable f16;`). */
  uses(...dtypes: readonly DType[]): this {
    for (const d of dtypes) this.dtypes.add(d);
    return this;
  }

  /** Enables a WGSL extension (subgroup builtins need `subgroups`, which the device must offer). */
  enable(extension: WgslExtension): this {
    this.extensions.add(extension);
    return this;
  }

  /** Storage bindings declared so far. */
  get bindingCount(): number {
    return this.storages.length;
  }

  /** The emitted kernel: `main` with `builtins` and `body`, run by workgroups of `workgroupSize`. */
  kernel(name: string, entry: { readonly workgroupSize: number | string; readonly builtins: string; readonly body: readonly string[] }, workgroups: [Dim, Dim, Dim]): EmittedKernel {
    const wgsl = [
      enables([...this.dtypes], [...this.extensions]) + this.storages.map((s, i) => `@group(0) @binding(${i}) var<storage, ${s.access}> ${s.name}: array<${s.type}>;`).join('\n'),
      ...(this.uniforms.isEmpty ? [] : [this.uniforms.declare(this.storages.length)]),
      ...this.decls,
      `@compute @workgroup_size(${entry.workgroupSize})`,
      `fn main(${entry.builtins}) {`,
      ...entry.body,
      '}',
      '',
    ].join('\n');
    return { name, wgsl, uniforms: this.uniforms.words(), workgroups, bindings: this.storages.map((s) => s.source) };
  }

  /**
   * A flat kernel: invocation `i` (from a `grid1d` dispatch of `count` invocations) runs `body`
   * when `i` is below `limit`, the uniform holding `count`.
   */
  flat(name: string, wgSize: number, limit: string, count: Dim, body: readonly string[]): EmittedKernel {
    const entry = [`  let i = ${flatIndex(wgSize)};`, `  if (i >= ${limit}) { return; }`, ...body];
    return this.kernel(name, { workgroupSize: wgSize, builtins: FLAT_BUILTINS, body: entry }, grid1d(count, wgSize));
  }

  private bind(name: string, dtype: DType, type: string, access: Storage['access'], source: Source): string {
    if (this.storages.some((s) => s.name === name)) throw new Error(`internal: storage '${name}' declared twice`);
    // Fusion keeps groups within the limit; a hand-edited fused body may not.
    if (this.storages.length === this.maxStorage) throw new KilnError(`its kernel would bind more than the ${this.maxStorage} storage buffers ${this.maxStorage === MAX_STORAGE_BINDINGS ? 'WebGPU guarantees a shader' : 'it was allowed'}`);
    this.storages.push({ name, type, access, source });
    this.dtypes.add(dtype);
    return name;
  }
}

/**
 * Lines that split flat index `index` into coordinates over `rank` dimensions whose extents
 * uniform accessor `shape` gives (innermost last), adding each coordinate times the strides of
 * accessor `strides[k]` to `var offsets[k]` (declared here, starting at 0). The loop every
 * strided kernel runs to read broadcast or viewed operands.
 */
export function unravel(index: string, rank: number, shape: string, offsets: readonly { readonly name: string; readonly strides: string }[], indent = '  '): string[] {
  if (!offsets.length) return [];
  return [
    `var rem = ${index};`,
    ...offsets.map((o) => `var ${o.name} = 0u;`),
    `for (var d = ${rank}u; d > 0u; d--) {`,
    `  let c = rem % ${shape}(d - 1u);`,
    `  rem = rem / ${shape}(d - 1u);`,
    ...offsets.map((o) => `  ${o.name} += c * ${o.strides}(d - 1u);`),
    '}',
  ].map((l) => indent + l);
}
