import type { DType } from '../ir/types.js';

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

/** What a device buffer holds, which decides when it is written. */
export type BufferRole = 'input' | 'output' | 'weight' | 'scratch';

export interface BufferSpec {
  readonly id: number;
  /** Size in bytes, a multiple of 4. */
  readonly bytes: number;
  readonly role: BufferRole;
  /** For weights: where its bytes start in `Program.weights` (length `bytes`). */
  readonly weightOffset?: number;
  /** Human-readable label: the IR value it first holds. */
  readonly label?: string;
}

/** A named graph input or output and the buffer that holds it. */
export interface TensorBinding {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly buffer: number;
}

/** One distinct WGSL shader. */
export interface KernelSpec {
  readonly name: string;
  readonly wgsl: string;
  readonly entryPoint: string;
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
  readonly uniforms?: readonly number[];
  readonly workgroups: readonly [number, number, number];
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
}

/** How a dtype is stored in a device buffer: WGSL has no bool storage, so bool is u32. */
export function deviceBytesPerElement(dtype: DType): number {
  return dtype === 'f16' ? 2 : 4;
}

/** Device bytes for `n` elements, rounded up to 4 as buffer copies require. */
export function deviceBufferBytes(dtype: DType, n: number): number {
  return Math.max(4, Math.ceil((n * deviceBytesPerElement(dtype)) / 4) * 4);
}
