// The package's `main` is CommonJS inside a "type": "module" package and exports nothing to
// ESM importers; the module build is the one that works in Node.
import { ResourceType, WgslReflect, type VariableInfo } from 'wgsl_reflect/wgsl_reflect.module.js';
import { KilnError } from '../ir/errors.js';
import type { BufferSpec, StaticDispatch as DispatchSpec, KernelSpec } from './program.js';

// GPUShaderStage.COMPUTE, spelled out so reflection works without Dawn's globals (codegen, CLI).
const COMPUTE_STAGE = 0x4;

/** How a kernel uses one binding of bind group 0. */
export type BindingKind = 'read-only-storage' | 'storage' | 'uniform';

export interface ReflectedBinding {
  readonly binding: number;
  readonly kind: BindingKind;
  /** The WGSL variable name, for error messages. */
  readonly name: string;
  /** Bytes the declared type needs (for a runtime-sized array: its fixed part). */
  readonly minBytes: number;
}

/** What the runtime needs to know about a kernel, read from its WGSL. */
export interface KernelReflection {
  readonly entryPoint: string;
  readonly workgroupSize: readonly [number, number, number];
  /** Every binding of group 0, sorted by binding number. */
  readonly bindings: readonly ReflectedBinding[];
  /** Storage bindings are 0..storageCount-1 (the program's binding convention). */
  readonly storageCount: number;
  /** The uniform binding (number `storageCount`), when the kernel has one. */
  readonly uniform?: ReflectedBinding;
}

/** A dispatch or kernel that breaks the binding convention or a device limit. */
export class BindingMismatchError extends KilnError {
  override name = 'BindingMismatchError';
}

/**
 * Reflects a kernel's WGSL: its group-0 bindings (all the module declares, so a dispatch binds
 * the same set whichever of them the entry point happens to use) and its workgroup size.
 * Throws a KilnError naming the kernel when it breaks the program's binding convention.
 */
export function reflectKernel(kernel: KernelSpec): KernelReflection {
  const where = `kernel '${kernel.name}'`;
  let reflect: WgslReflect;
  try {
    reflect = new WgslReflect(kernel.wgsl);
  } catch (e) {
    throw new KilnError(`${where}: cannot reflect its WGSL: ${(e as Error).message}`);
  }
  const entry = reflect.entry.compute.find((f) => f.name === kernel.entryPoint);
  if (!entry) {
    const names = reflect.entry.compute.map((f) => f.name);
    throw new KilnError(
      `${where}: no compute entry point '${kernel.entryPoint}'` +
      (names.length ? ` (it has: ${names.join(', ')})` : ' (it has none)'),
    );
  }
  const ws = entry.workgroupSize;
  if (!ws || ws.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new KilnError(`${where}: cannot read a constant @workgroup_size from entry point '${kernel.entryPoint}'`);
  }

  const unsupported = [...reflect.textures, ...reflect.samplers, ...reflect.immediates];
  if (unsupported.length) {
    throw new KilnError(`${where}: declares ${unsupported.map((v) => `'${v.name}'`).join(', ')}; kernels may only use storage and uniform buffers`);
  }
  const all = [...reflect.storage, ...reflect.uniforms];
  const elsewhere = all.filter((v) => v.group !== 0);
  if (elsewhere.length) {
    throw new KilnError(`${where}: binds ${elsewhere.map((v) => `'${v.name}' in group ${v.group}`).join(', ')}; kernels use bind group 0 only`);
  }
  const bindings = all.map(toBinding).sort((a, b) => a.binding - b.binding);
  for (let i = 1; i < bindings.length; i++) {
    if (bindings[i]!.binding === bindings[i - 1]!.binding) {
      throw new KilnError(`${where}: '${bindings[i - 1]!.name}' and '${bindings[i]!.name}' share @binding(${bindings[i]!.binding})`);
    }
  }
  const uniforms = bindings.filter((b) => b.kind === 'uniform');
  const storageCount = bindings.length - uniforms.length;
  // Convention: storage at 0..n-1, then at most one uniform at n.
  const contiguous = bindings.every((b, i) => b.binding === i);
  const uniformLast = uniforms.length === 0 || (uniforms.length === 1 && bindings.at(-1)!.kind === 'uniform');
  if (!contiguous || !uniformLast) {
    throw new KilnError(
      `${where}: bindings must be storage buffers at 0..n-1 then at most one uniform at n; ` +
      `it declares ${describeBindings(bindings)}`,
    );
  }
  const result: KernelReflection = {
    entryPoint: kernel.entryPoint,
    workgroupSize: [ws[0], ws[1], ws[2]],
    bindings,
    storageCount,
    ...(uniforms[0] ? { uniform: uniforms[0] } : {}),
  };
  return result;
}

/** The explicit bind group layout of a reflected kernel (the runtime never uses 'auto'). */
export function bindGroupLayoutEntries(r: KernelReflection): GPUBindGroupLayoutEntry[] {
  return r.bindings.map((b) => ({
    binding: b.binding,
    visibility: COMPUTE_STAGE,
    buffer: { type: b.kind },
  }));
}

/** `a: read-only-storage@0, out: storage@1, u: uniform@2` */
export function describeBindings(bindings: readonly ReflectedBinding[]): string {
  return bindings.map((b) => `${b.name}: ${b.kind}@${b.binding}`).join(', ') || 'no bindings';
}

/** Throws naming the kernel when its workgroup or binding count exceeds the device's limits. */
export function checkKernelLimits(kernel: KernelSpec, r: KernelReflection, limits: Readonly<Record<string, number>>): void {
  const where = `kernel '${kernel.name}'`;
  const [x, y, z] = r.workgroupSize;
  const maxInv = limits['maxComputeInvocationsPerWorkgroup'] ?? 256;
  if (x * y * z > maxInv) {
    throw new BindingMismatchError(`${where}: @workgroup_size(${x},${y},${z}) has ${x * y * z} invocations; this device allows ${maxInv}`);
  }
  const dims = [['X', x], ['Y', y], ['Z', z]] as const;
  for (const [axis, n] of dims) {
    const max = limits[`maxComputeWorkgroupSize${axis}`] ?? Infinity;
    if (n > max) throw new BindingMismatchError(`${where}: workgroup size ${axis} = ${n} exceeds this device's ${max}`);
  }
  const maxStorage = limits['maxStorageBuffersPerShaderStage'] ?? 8;
  if (r.storageCount > maxStorage) {
    throw new BindingMismatchError(`${where}: binds ${r.storageCount} storage buffers; this device allows ${maxStorage} per shader stage`);
  }
}

/** What a dispatch check needs to know besides the dispatch and its kernel. */
export interface DispatchContext {
  /** A program buffer, or undefined when no buffer has that id. */
  buffer(id: number): Pick<BufferSpec, 'bytes' | 'role' | 'label'> | undefined;
  readonly limits: Readonly<Record<string, number>>;
}

/**
 * What to do about a program compiled for larger storage bindings than a device allows. Only
 * constant weights can be split; `weight` false says the buffer is not one (an activation, an
 * input or an output), undefined that it is not known which.
 */
export function bindingLimitAdvice(allowed: number, weight?: boolean): string {
  const split = `compile the model for this device with --max-binding-bytes ${allowed} (the compile option maxStorageBindingBytes), which splits larger constant weights into parts that fit`;
  const smaller = 'an activation, input or output must fit in one binding: give the model smaller inputs (a smaller batch or image), or run it on a device that binds more';
  if (weight === true) return split;
  if (weight === false) return `it is not a constant weight, and ${smaller}`;
  return `${split}; ${smaller}`;
}

/**
 * Checks a dispatch against its kernel's reflected bindings (the program's convention: buffers
 * at 0..n-1, uniforms at n) and the device limits; throws naming the dispatch and kernel.
 */
export function checkDispatch(
  d: DispatchSpec, index: number, kernel: KernelSpec, r: KernelReflection, ctx: DispatchContext,
): void {
  const where = `dispatch #${index} '${d.label}' (kernel '${kernel.name}')`;
  const fail = (msg: string): never => {
    throw new BindingMismatchError(`${where}: ${msg}; the kernel declares ${describeBindings(r.bindings)}`);
  };
  if (d.buffers.length !== r.storageCount) {
    fail(`binds ${d.buffers.length} buffer(s) but the kernel has ${r.storageCount} storage binding(s)`);
  }
  const hasUniforms = d.uniforms !== undefined;
  if (hasUniforms && !r.uniform) fail(`has ${d.uniforms!.length} uniform word(s) but the kernel has no uniform binding`);
  if (!hasUniforms && r.uniform) fail(`has no uniforms but the kernel reads uniform '${r.uniform.name}' at binding ${r.uniform.binding}`);
  if (d.uniforms && r.uniform) {
    if (d.uniforms.length * 4 < r.uniform.minBytes) {
      fail(`has ${d.uniforms.length} uniform word(s) (${d.uniforms.length * 4} bytes) but '${r.uniform.name}' needs ${r.uniform.minBytes} bytes`);
    }
    const maxUniform = ctx.limits['maxUniformBufferBindingSize'] ?? 65536;
    if (d.uniforms.length * 4 > maxUniform) fail(`has ${d.uniforms.length * 4} uniform bytes; this device allows ${maxUniform}`);
    const bad = d.uniforms.findIndex((w) => !Number.isInteger(w) || w < -(2 ** 31) || w >= 2 ** 32);
    if (bad >= 0) fail(`uniform word ${bad} is ${d.uniforms[bad]}, not a 32-bit integer (bit-cast floats to u32)`);
  }
  const maxBinding = ctx.limits['maxStorageBufferBindingSize'] ?? 2 ** 27;
  d.buffers.forEach((id, i) => {
    const b = ctx.buffer(id);
    if (b === undefined) return fail(`binding ${i} names buffer ${id}, which the program does not declare`);
    const what = `binding ${i} (buffer ${id}${b.label ? `, ${b.label}` : ''})`;
    if (b.bytes > maxBinding) {
      fail(`${what} has ${b.bytes} bytes; this device binds at most ${maxBinding} (maxStorageBufferBindingSize): ${bindingLimitAdvice(maxBinding, b.role === 'weight')}`);
    }
    if (b.bytes < r.bindings[i]!.minBytes) fail(`${what} has ${b.bytes} bytes but '${r.bindings[i]!.name}' needs ${r.bindings[i]!.minBytes}`);
  });
  // WebGPU rejects a dispatch that binds one buffer twice when either binding is writable.
  d.buffers.forEach((id, i) => {
    const j = d.buffers.indexOf(id);
    if (j !== i && (r.bindings[i]!.kind === 'storage' || r.bindings[j]!.kind === 'storage')) {
      fail(`binds buffer ${id} at both ${j} and ${i} and one of them is writable, which WebGPU forbids`);
    }
  });
  const maxGroups = ctx.limits['maxComputeWorkgroupsPerDimension'] ?? 65535;
  if (d.workgroups.length !== 3 || d.workgroups.some((n) => !Number.isInteger(n) || n < 0 || n > maxGroups)) {
    fail(`workgroups [${d.workgroups.join(',')}] must be three integers in 0..${maxGroups}`);
  }
}

function toBinding(v: VariableInfo): ReflectedBinding {
  const kind: BindingKind = v.resourceType === ResourceType.Uniform
    ? 'uniform'
    : v.access === 'read_write' || v.access === 'write' ? 'storage' : 'read-only-storage';
  return { binding: v.binding, kind, name: v.name, minBytes: Math.max(0, v.size || 0) };
}

/** Every kernel reflected (identical WGSL and entry point reflected once), in program order. */
export function reflectAll(kernels: readonly KernelSpec[]): KernelReflection[] {
  const seen = new Map<string, KernelReflection>();
  return kernels.map((k) => {
    const key = `${k.entryPoint}\u0000${k.wgsl}`;
    let r = seen.get(key);
    if (!r) seen.set(key, (r = reflectKernel(k)));
    return r;
  });
}

/** WGSL `enable` directives and the WebGPU feature each needs. */
export const WGSL_ENABLE_FEATURES: Readonly<Record<string, string>> = { f16: 'shader-f16', subgroups: 'subgroups' };
