import { numel } from '../ir/types.js';
import type { LoadedProgram, LoadStats } from './load.js';
import { kernelKey } from './load-checks.js';
import { deviceBufferBytes, type BufferSpec, type StaticProgram } from './program.js';
import type { KernelReflection } from './reflect.js';

// The buffers of a loaded program: its own (weights written in at creation), one uniform buffer
// with a slice per dispatch, and the staging buffer its outputs are read back through.

// Dynamic offsets are not used, but every dispatch gets its own slice of one uniform buffer
// (queue.writeBuffer lands at submit time, so a shared slice would be overwritten), aligned to
// the largest minUniformBufferOffsetAlignment WebGPU allows so the layout is the same everywhere.
const UNIFORM_SLICE_ALIGN = 256;

/** Every program buffer, created once; weights are written in through `queue`. */
export function createProgramBuffers(
  program: StaticProgram, newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, queue: GPUQueue, stats: LoadStats,
): Map<number, GPUBuffer> {
  const buffers = new Map<number, GPUBuffer>();
  for (const b of program.buffers) {
    buffers.set(b.id, createProgramBuffer(newBuffer, program, b, queue));
    if (b.role === 'weight' || b.role === 'state') {
      stats.weightUploads++;
      stats.weightBytesUploaded += b.bytes;
    }
  }
  return buffers;
}

/**
 * Usage of every buffer a program computes in (COPY_SRC: any may be an output that is read back).
 * A function: GPUBufferUsage is a global only once device.ts has installed Dawn's globals.
 */
export function storageUsage(): number {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/**
 * Bytes one writeBuffer call uploads at most. Written in slices, a weight passes through one
 * bounded staging copy; mapped at creation, Dawn on Vulkan stages the whole buffer beside it
 * (measured on lavapipe, 411 MB of weights: 2.4x slower, with 290 MB more peak memory).
 */
const UPLOAD_SLICE_BYTES = 16 * 2 ** 20;

/** Creates one buffer of `program` through `newBuffer`; a weight (or state) gets its bytes through `queue`. */
export function createProgramBuffer(newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, program: StaticProgram, b: BufferSpec, queue: GPUQueue): GPUBuffer {
  const buffer = newBuffer({ size: b.bytes, usage: storageUsage(), label: b.label ?? `${b.role}${b.id}` });
  if (b.role === 'weight' || b.role === 'state') {
    for (let off = 0; off < b.bytes; off += UPLOAD_SLICE_BYTES) {
      queue.writeBuffer(buffer, off, program.weights, b.weightOffset! + off, Math.min(UPLOAD_SLICE_BYTES, b.bytes - off));
    }
  }
  return buffer;
}

export interface UniformSlice {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

/** Where each dispatch's uniform words go in one buffer of `total` bytes (undefined: no uniforms). */
export interface UniformPlan {
  readonly slices: readonly ({ offset: number; size: number } | undefined)[];
  readonly total: number;
}

/**
 * Gives every dispatch with uniforms its own slice of one buffer: queue.writeBuffer lands at
 * submit time, so dispatches sharing a slice would all read the last write.
 */
export function planUniforms(program: StaticProgram, reflections: ReadonlyMap<string, KernelReflection>): UniformPlan {
  const slices: ({ offset: number; size: number } | undefined)[] = [];
  let total = 0;
  for (const d of program.dispatches) {
    if (!d.uniforms) {
      slices.push(undefined);
      continue;
    }
    const r = reflections.get(kernelKey(program.kernels[d.kernel]!))!;
    // Uniform structs are 16-byte aligned in size, so bind at least that much.
    const size = roundUp(Math.max(d.uniforms.length * 4, r.uniform!.minBytes, 4), 16);
    slices.push({ offset: total, size });
    total = roundUp(total + size, UNIFORM_SLICE_ALIGN);
  }
  return { slices, total };
}

/** Creates (through `newBuffer`) the buffer of a uniform plan, filled with every dispatch's words; undefined when empty. */
export function createUniformBuffer(
  newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, program: StaticProgram, plan: UniformPlan, label: string,
): GPUBuffer | undefined {
  if (plan.total === 0) return undefined;
  // COPY_DST: a program compiled for a range of shapes rewrites its words when a run's sizes change.
  const buffer = newBuffer({ size: plan.total, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, mappedAtCreation: true, label: `${label}:uniforms` });
  const words = new Uint32Array(buffer.getMappedRange());
  program.dispatches.forEach((d, i) => {
    // Uint32Array stores negative i32 words as their two's complement bits.
    if (d.uniforms) words.set(d.uniforms, plan.slices[i]!.offset / 4);
  });
  buffer.unmap();
  return buffer;
}

/** One uniform buffer holding every dispatch's own slice, written once at load (shapes are static). */
export function createUniforms(
  program: StaticProgram, reflections: ReadonlyMap<string, KernelReflection>,
  newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, label: string,
): (UniformSlice | undefined)[] {
  const plan = planUniforms(program, reflections);
  const buffer = createUniformBuffer(newBuffer, program, plan, label);
  return plan.slices.map((l) => l && buffer && { buffer, ...l });
}

/** One MAP_READ staging buffer with a slot per distinct output buffer, and the copies that fill it. */
export function planReadback(
  program: StaticProgram, buffers: ReadonlyMap<number, GPUBuffer>, newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, label: string,
): Pick<LoadedProgram, 'staging' | 'copies' | 'readbacks'> {
  // Two outputs may name one buffer (the same value returned twice): copy it once, enough for both.
  const need = new Map<number, number>();
  for (const o of program.outputs) {
    need.set(o.buffer, Math.max(need.get(o.buffer) ?? 0, deviceBufferBytes(o.dtype, numel(o.shape))));
  }
  const offsets = new Map<number, number>();
  const plan: { id: number; dstOffset: number; bytes: number }[] = [];
  let total = 0;
  for (const [id, bytes] of need) {
    offsets.set(id, total);
    plan.push({ id, dstOffset: total, bytes });
    total += bytes; // multiples of 4, as copyBufferToBuffer requires
  }
  if (total === 0) return { staging: undefined, copies: [], readbacks: [] };
  const staging = newBuffer({ size: total, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `${label}:staging` });
  return {
    staging,
    copies: plan.map((p) => ({ src: buffers.get(p.id)!, dstOffset: p.dstOffset, bytes: p.bytes })),
    readbacks: program.outputs.map((output) => ({ output, offset: offsets.get(output.buffer)! })),
  };
}

function roundUp(n: number, k: number): number {
  return Math.ceil(n / k) * k;
}
