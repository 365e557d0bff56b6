import { KilnError } from '../ir/errors.js';
import { isDType, numel, type DType } from '../ir/types.js';
import type { SizeVar } from '../ir/size-expr.js';

/**
 * The Program format: what codegen emits, what artifacts store and what the runtime runs.
 * It is plain data (JSON plus one weights blob) so that an artifact runs with the runtime alone.
 *
 * Binding convention of every kernel: bind group 0; binding i (0 <= i < buffers.length) is
 * the storage buffer `dispatch.buffers[i]`; when a dispatch has `uniforms`, binding
 * `buffers.length` is a uniform buffer holding those 32-bit words. Whether a storage binding
 * is read-only or read-write comes from reflecting the kernel's WGSL, never from here.
 */
export const PROGRAM_VERSION = 1;

/**
 * What a device buffer holds, which decides when it is written. A 'state' buffer persists across
 * runs (parameters and optimizer state of a training step): initialised from the weights blob
 * once at load, never uploaded again, and overwritten at the end of each run by `stateUpdates`.
 */
export type BufferRole = 'input' | 'output' | 'weight' | 'scratch' | 'state';

export interface BufferSpec {
  readonly id: number;
  /** Size in bytes, a multiple of 4. */
  readonly bytes: number;
  readonly role: BufferRole;
  /** For weights and state: where its (initial) bytes start in `Program.weights` (length `bytes`). */
  readonly weightOffset?: number;
  /** Human-readable label: the IR value it first holds. */
  readonly label?: string;
}

/**
 * A 32-bit word fixed when the program was compiled, or the text of a size expression over
 * `Program.sizes` (src/ir/size-expr.ts), computed when a run binds the sizes.
 */
export type SizeWord = number | string;

/** A named graph input or output and the buffer that holds it. */
export interface TensorBinding {
  readonly name: string;
  readonly dtype: DType;
  /** Extents; where `dims` is present, each one's largest value (what the buffer holds). */
  readonly shape: readonly number[];
  readonly buffer: number;
  /** The extents as size expressions, when some vary from run to run. */
  readonly dims?: readonly SizeWord[];
}

/**
 * A copy encoded after the compute pass of every run, in the same command buffer: the value a
 * run computed in buffer `from` becomes the state buffer `to` for the next run.
 */
export interface StateUpdate {
  readonly from: number;
  readonly to: number;
}

/** One distinct WGSL shader. */
export interface KernelSpec {
  readonly name: string;
  readonly wgsl: string;
  readonly entryPoint: string;
}

/**
 * Holds when the size expression `size` (text over `Program.sizes`) lies within `min..max`
 * (an absent bound does not limit).
 */
export interface SizeCondition {
  readonly size: string;
  readonly min?: number;
  readonly max?: number;
}

/**
 * Another kernel for one dispatch, run instead of the dispatch's own when the sizes a run binds
 * meet `when` (a kernel much faster there, e.g. a matmul for a single row). It binds the
 * dispatch's buffers in the same order; its uniform words and workgroup counts are its own.
 */
export interface DispatchVariant {
  readonly when: SizeCondition;
  /** Index into Program.kernels. */
  readonly kernel: number;
  readonly uniforms?: readonly SizeWord[];
  readonly workgroups: readonly [SizeWord, SizeWord, SizeWord];
}

/** One compute dispatch of a kernel over concrete buffers. */
export interface DispatchSpec {
  /** Index into Program.kernels. */
  readonly kernel: number;
  /** What this dispatch computes, for profiles and errors (e.g. the node's op and output). */
  readonly label: string;
  /** Buffer ids bound at bindings 0..n-1. */
  readonly buffers: readonly number[];
  /** 32-bit words of this dispatch's uniform block (shapes, strides, bit-cast scalars). */
  readonly uniforms?: readonly SizeWord[];
  readonly workgroups: readonly [SizeWord, SizeWord, SizeWord];
  /**
   * Programs compiled for a range of shapes only: kernels for some sizes, tried in order before
   * the dispatch's own (which serves every size); each run takes the first whose condition holds.
   */
  readonly variants?: readonly DispatchVariant[];
}

export interface Program {
  readonly version: number;
  readonly name: string;
  readonly inputs: readonly TensorBinding[];
  readonly outputs: readonly TensorBinding[];
  readonly buffers: readonly BufferSpec[];
  readonly kernels: readonly KernelSpec[];
  /** Executed in order, all in one command buffer. */
  readonly dispatches: readonly DispatchSpec[];
  /** Every weight's bytes, as stored on the device (f32, f16 bits, i32, u32; bool as u32). */
  readonly weights: Uint8Array;
  /** WebGPU features the kernels need (e.g. 'shader-f16'). */
  readonly requiredFeatures: readonly string[];
  /** Named persistent tensors, each in a buffer of role 'state' (absent: none). */
  readonly state?: readonly TensorBinding[];
  /** Copies into state buffers at the end of each run, in order (absent: none). */
  readonly stateUpdates?: readonly StateUpdate[];
  /**
   * The size variables of a program compiled for a range of shapes (absent: one static shape).
   * Buffers are sized for their largest values; each run binds them from its inputs' shapes.
   */
  readonly sizes?: readonly SizeVar[];
}

/** A program whose every size is a number: what a device runs (see src/runtime/sizes.ts). */
export interface StaticProgram extends Program {
  readonly inputs: readonly StaticBinding[];
  readonly outputs: readonly StaticBinding[];
  readonly dispatches: readonly StaticDispatch[];
}
export type StaticBinding = Omit<TensorBinding, 'dims'>;
export interface StaticDispatch extends Omit<DispatchSpec, 'variants'> {
  readonly uniforms?: readonly number[];
  readonly workgroups: readonly [number, number, number];
  /** Which of the dispatch's variants these sizes chose (absent: its own kernel). */
  readonly variant?: number;
}

/** How a dtype is stored in a device buffer: WGSL has no bool storage, so bool is u32. */
export function deviceBytesPerElement(dtype: DType): number {
  return dtype === 'f16' ? 2 : 4;
}

/** Device bytes for `n` elements, rounded up to 4 as buffer copies require. */
export function deviceBufferBytes(dtype: DType, n: number): number {
  return Math.max(4, Math.ceil((n * deviceBytesPerElement(dtype)) / 4) * 4);
}

/**
 * Checks a program's structure without a device: format version, buffer ids, weight ranges,
 * tensor bindings and dispatch references. Throws a KilnError saying what is wrong and where.
 */
export function validateProgram(p: Program): void {
  const where = `program '${p.name}'`;
  const fail = (msg: string): never => {
    throw new KilnError(`${where}: ${msg}`);
  };
  if (p.version !== PROGRAM_VERSION) {
    fail(`format version ${String(p.version)}; this runtime reads version ${PROGRAM_VERSION} (recompile the model)`);
  }
  if (!(p.weights instanceof Uint8Array)) fail('weights must be a Uint8Array');

  const buffers = new Map<number, BufferSpec>();
  for (const b of p.buffers) {
    const name = `buffer ${b.id}${b.label ? ` '${b.label}'` : ''}`;
    if (!Number.isInteger(b.id) || b.id < 0) fail(`${name}: id must be a non-negative integer`);
    if (buffers.has(b.id)) fail(`${name}: id declared twice`);
    buffers.set(b.id, b);
    if (!Number.isInteger(b.bytes) || b.bytes <= 0 || b.bytes % 4 !== 0) fail(`${name}: size ${b.bytes} is not a positive multiple of 4`);
    if (!['input', 'output', 'weight', 'scratch', 'state'].includes(b.role)) fail(`${name}: unknown role '${String(b.role)}'`);
    if (b.role === 'weight' || b.role === 'state') {
      const off = b.weightOffset;
      if (off === undefined || !Number.isInteger(off) || off < 0) fail(`${name}: a weight needs a non-negative integer weightOffset`);
      else if (off + b.bytes > p.weights.byteLength) {
        fail(`${name}: weight bytes ${off}..${off + b.bytes} lie outside the ${p.weights.byteLength}-byte weights blob`);
      }
    }
  }
  const bufferOf = (id: number, user: string): BufferSpec =>
    buffers.get(id) ?? fail(`${user} names buffer ${id}, which the program does not declare`);

  const checkBindings = (list: readonly TensorBinding[], kind: 'input' | 'output' | 'state'): void => {
    const names = new Set<string>();
    for (const t of list) {
      const user = `${kind} '${t.name}'`;
      if (names.has(t.name)) fail(`${user} is declared twice`);
      names.add(t.name);
      if (!isDType(t.dtype)) fail(`${user}: unknown dtype '${String(t.dtype)}'`);
      if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`${user}: bad shape [${t.shape.join(',')}]`);
      const b = bufferOf(t.buffer, user);
      const need = deviceBufferBytes(t.dtype, numel(t.shape));
      if (b.bytes < need) fail(`${user} (${t.dtype}[${t.shape.join(',')}]) needs ${need} bytes but buffer ${b.id} has ${b.bytes}`);
      if (kind !== 'output' && b.role !== kind) fail(`${user} is bound to buffer ${b.id} whose role is '${b.role}', not '${kind}'`);
    }
  };
  checkBindings(p.inputs, 'input');
  checkBindings(p.outputs, 'output');
  checkBindings(p.state ?? [], 'state');
  const updated = new Set<number>();
  (p.stateUpdates ?? []).forEach((u, i) => {
    const user = `state update #${i}`;
    const from = bufferOf(u.from, user);
    const to = bufferOf(u.to, user);
    if (to.role !== 'state') fail(`${user} writes buffer ${to.id} whose role is '${to.role}', not 'state'`);
    if (from.bytes < to.bytes) fail(`${user} copies ${from.bytes} bytes of buffer ${from.id} into the ${to.bytes}-byte state buffer ${to.id}`);
    if (from.id === to.id) fail(`${user} copies buffer ${to.id} onto itself`);
    if (updated.has(to.id)) fail(`${user} writes state buffer ${to.id} a second time`);
    updated.add(to.id);
  });
  // Copies run in order: a later copy must not read a state buffer an earlier one overwrote.
  (p.stateUpdates ?? []).forEach((u, i) => {
    const earlier = (p.stateUpdates ?? []).slice(0, i).find((e) => e.to === u.from);
    if (earlier) fail(`state update #${i} reads state buffer ${u.from} after an earlier update overwrote it`);
  });
  const inputBuffers = p.inputs.map((t) => t.buffer);
  const shared = inputBuffers.find((id, i) => inputBuffers.indexOf(id) !== i);
  if (shared !== undefined) fail(`two inputs share buffer ${shared}`);

  p.kernels.forEach((k, i) => {
    if (typeof k.wgsl !== 'string' || typeof k.entryPoint !== 'string' || !k.entryPoint) {
      fail(`kernel #${i} '${k.name}' needs WGSL text and an entry point name`);
    }
  });
  p.dispatches.forEach((d, i) => {
    const user = `dispatch #${i} '${d.label}'`;
    if (!Number.isInteger(d.kernel) || !p.kernels[d.kernel]) fail(`${user} names kernel ${d.kernel}; the program has ${p.kernels.length}`);
    for (const id of d.buffers) bufferOf(id, user);
    if (d.variants?.length && !p.sizes?.length) fail(`${user} has kernel variants chosen by size, but the program has no sizes that vary`);
    (d.variants ?? []).forEach((v, k) => {
      if (!Number.isInteger(v.kernel) || !p.kernels[v.kernel]) fail(`${user} variant #${k} names kernel ${v.kernel}; the program has ${p.kernels.length}`);
      if (typeof v.when?.size !== 'string' || (v.when.min === undefined && v.when.max === undefined)) fail(`${user} variant #${k} needs a condition: a size expression and a min or max`);
    });
  });
}
