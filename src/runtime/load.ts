import { KilnError } from '../ir/errors.js';
import { numel } from '../ir/types.js';
import { MissingFeatureError, type GpuDevice } from './device.js';
import { deviceBufferBytes, validateProgram, type BufferSpec, type DispatchSpec, type KernelSpec, type Program, type TensorBinding } from './program.js';
import { bindGroupLayoutEntries, checkDispatch, checkKernelLimits, reflectKernel, type KernelReflection } from './reflect.js';

// Loading a Program onto a device: every GPU object a run needs, created once.

/** Counters of what loading and running created; see SessionStats. */
export interface LoadStats {
  pipelinesCreated: number;
  shaderModulesCreated: number;
  buffersCreated: number;
  bindGroupsCreated: number;
  weightBytesUploaded: number;
  weightUploads: number;
}

/** One dispatch, ready to encode. */
export interface Step {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/** An output and where its bytes start in the staging buffer. */
export interface Readback {
  readonly output: TensorBinding;
  readonly offset: number;
}

/** A copy from a program buffer into the staging buffer, encoded after the compute pass. */
export interface StagingCopy {
  readonly src: GPUBuffer;
  readonly dstOffset: number;
  readonly bytes: number;
}

/** A copy into a state buffer, encoded after the compute pass (Program.stateUpdates). */
export interface StateCopy {
  readonly src: GPUBuffer;
  readonly dst: GPUBuffer;
  readonly bytes: number;
}

/**
 * One set of input buffers and the dispatches bound to them. With several slots, inputs for the
 * next run can be uploaded while a run that reads another slot is still queued.
 */
export interface InputSlot {
  /** Buffer of each program input, by buffer id. */
  readonly inputs: ReadonlyMap<number, GPUBuffer>;
  readonly steps: readonly Step[];
}

/** Everything a run needs, created at load. */
export interface LoadedProgram {
  readonly buffers: ReadonlyMap<number, GPUBuffer>;
  /** Input slot 0 uses `buffers` and `steps`; further slots have input buffers of their own. */
  readonly slots: readonly InputSlot[];
  readonly stateCopies: readonly StateCopy[];
  /** Every buffer loading created, to free on destroy. */
  readonly owned: readonly GPUBuffer[];
  readonly steps: readonly Step[];
  /** One MAP_READ buffer for all outputs; absent when the program has none. */
  readonly staging: GPUBuffer | undefined;
  readonly copies: readonly StagingCopy[];
  readonly readbacks: readonly Readback[];
}

export interface LoadOptions {
  readonly label: string;
  readonly warmup: boolean;
  /** Sets of input buffers (default 1); see InputSlot. */
  readonly inputSlots?: number;
}

// Dynamic offsets are not used, but every dispatch gets its own slice of one uniform buffer
// (queue.writeBuffer lands at submit time, so a shared slice would be overwritten), aligned to
// the largest minUniformBufferOffsetAlignment WebGPU allows so the layout is the same everywhere.
const UNIFORM_SLICE_ALIGN = 256;

/** WGSL `enable` directives and the WebGPU feature each needs. */
const WGSL_ENABLES: Readonly<Record<string, string>> = { f16: 'shader-f16', subgroups: 'subgroups' };

interface LoadedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
}

/** Identifies a distinct kernel: the same WGSL and entry point make the same pipeline. */
export const kernelKey = (k: KernelSpec): string => `${k.entryPoint}\u0000${k.wgsl}`;

/**
 * Validates `program` against the device, then creates its shader modules, pipelines (compiled
 * in parallel), buffers (weights uploaded once), uniforms, bind groups and staging buffer.
 * On failure frees what it created and throws a KilnError naming the kernel or dispatch.
 */
export async function loadProgram(gpu: GpuDevice, program: Program, opts: LoadOptions, stats: LoadStats): Promise<LoadedProgram> {
  gpu.assertUsable(`loading program '${program.name}'`);
  validateProgram(program);
  checkFeatures(gpu, program);
  const { label } = opts;
  const device = gpu.device;

  // Shader modules first: Dawn's compile messages (line:column) beat any reflection error.
  const modules = await createShaderModules(device, program.kernels, stats);

  // Reflect each distinct (WGSL, entry point) and check every dispatch against it before
  // creating anything that needs freeing.
  const reflections = checkProgramOnDevice(gpu, program);

  const pipelines = await createPipelines(device, program.kernels, modules, reflections, label, stats);

  const owned: GPUBuffer[] = [];
  const newBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const b = device.createBuffer(desc);
    owned.push(b);
    stats.buffersCreated++;
    return b;
  };
  try {
    const buffers = createProgramBuffers(program, newBuffer, stats);
    const uniformSlices = createUniforms(program, reflections, newBuffer, label);
    const steps = await createSteps(device, program, pipelines, buffers, uniformSlices, label, stats);
    const slots: InputSlot[] = [{ inputs: new Map(program.inputs.map((t) => [t.buffer, buffers.get(t.buffer)!])), steps }];
    for (let k = 1; k < (opts.inputSlots ?? 1); k++) {
      const own = new Map(buffers);
      for (const t of program.inputs) {
        const spec = program.buffers.find((b) => b.id === t.buffer)!;
        own.set(t.buffer, createProgramBuffer(newBuffer, program, { ...spec, label: `${spec.label ?? 'input'}#${k}` }));
      }
      const slotSteps = await createSteps(device, program, pipelines, own, uniformSlices, label, stats);
      slots.push({ inputs: new Map(program.inputs.map((t) => [t.buffer, own.get(t.buffer)!])), steps: slotSteps });
    }
    const stateCopies = (program.stateUpdates ?? []).map((u) => {
      const dst = buffers.get(u.to)!;
      return { src: buffers.get(u.from)!, dst, bytes: dst.size };
    });
    const { staging, copies, readbacks } = planReadback(program, buffers, newBuffer, label);
    if (opts.warmup) await warmUp(device, program, steps, label, stats);
    return { buffers, slots, stateCopies, owned, steps, staging, copies, readbacks };
  } catch (e) {
    for (const b of owned) b.destroy();
    throw e;
  }
}

/**
 * Reflects each distinct kernel of `program` and checks it, every dispatch and every buffer
 * against the device's limits; returns the reflections keyed by `kernelKey`. Creates nothing.
 */
export function checkProgramOnDevice(gpu: GpuDevice, program: Program): Map<string, KernelReflection> {
  const reflections = new Map<string, KernelReflection>();
  for (const k of program.kernels) {
    const key = kernelKey(k);
    if (reflections.has(key)) continue;
    const r = reflectKernel(k);
    checkKernelLimits(k, r, gpu.limits);
    reflections.set(key, r);
  }
  const bufferSpecs = new Map(program.buffers.map((b) => [b.id, b]));
  const ctx = { bufferBytes: (id: number) => bufferSpecs.get(id)?.bytes, limits: gpu.limits };
  program.dispatches.forEach((d, i) => {
    const k = program.kernels[d.kernel]!;
    checkDispatch(d, i, k, reflections.get(kernelKey(k))!, ctx);
  });
  const maxBuffer = gpu.limits['maxBufferSize'] ?? 2 ** 28;
  for (const b of program.buffers) {
    if (b.bytes > maxBuffer) {
      throw new KilnError(`program '${program.name}': buffer ${b.id}${b.label ? ` '${b.label}'` : ''} has ${b.bytes} bytes; this device allows ${maxBuffer}`);
    }
  }
  return reflections;
}

/** Throws when the device lacks a feature the program or one of its kernels needs. */
export function checkFeatures(gpu: GpuDevice, program: Program): void {
  const missing = program.requiredFeatures.filter((f) => !gpu.features.has(f));
  if (missing.length) {
    throw new MissingFeatureError(
      `program '${program.name}' needs WebGPU feature(s) ${missing.join(', ')}, which this device (${gpu.describe()}) lacks`,
    );
  }
  for (const k of program.kernels) {
    for (const m of k.wgsl.matchAll(/^\s*enable\s+([^;]+);/gm)) {
      for (const ext of m[1]!.split(',').map((s) => s.trim())) {
        const feature = WGSL_ENABLES[ext];
        if (feature && !gpu.features.has(feature)) {
          throw new MissingFeatureError(`kernel '${k.name}' enables ${ext}, which needs the WebGPU feature '${feature}' this device (${gpu.describe()}) lacks`);
        }
      }
    }
  }
}

/** One shader module per distinct WGSL text; compile errors become a KilnError naming the kernel. */
async function createShaderModules(device: GPUDevice, kernels: readonly KernelSpec[], stats: LoadStats): Promise<Map<string, GPUShaderModule>> {
  const modules = new Map<string, GPUShaderModule>();
  const checks: Promise<void>[] = [];
  for (const k of kernels) {
    if (modules.has(k.wgsl)) continue;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: k.wgsl, label: k.name });
    const scope = device.popErrorScope();
    stats.shaderModulesCreated++;
    modules.set(k.wgsl, module);
    checks.push(Promise.all([scope, module.getCompilationInfo()]).then(([err, info]) => {
      const problem = compileProblem(k, err, info);
      if (problem) throw new KilnError(problem);
    }));
  }
  await Promise.all(checks);
  return modules;
}

/**
 * Why a shader module did not compile, quoting the offending WGSL lines (generated WGSL is not
 * in front of the user), or undefined when it compiled.
 */
export function compileProblem(k: KernelSpec, err: GPUError | null, info: GPUCompilationInfo): string | undefined {
  const errors = info.messages.filter((m) => m.type === 'error');
  if (!err && errors.length === 0) return undefined;
  const source = k.wgsl.split('\n');
  const lines = errors.map((m) => {
    const text = source[m.lineNum - 1]?.trim();
    return `  ${m.lineNum}:${m.linePos}: ${m.message}${text ? `\n      | ${text}` : ''}`;
  });
  const detail = lines.length ? `\n${lines.join('\n')}` : `: ${err!.message}`;
  return `kernel '${k.name}': WGSL does not compile${detail}`;
}

/** One compute pipeline per distinct (WGSL, entry point), all compiled in parallel, with explicit layouts. */
async function createPipelines(
  device: GPUDevice, kernels: readonly KernelSpec[], modules: ReadonlyMap<string, GPUShaderModule>,
  reflections: ReadonlyMap<string, KernelReflection>, label: string, stats: LoadStats,
): Promise<LoadedPipeline[]> {
  const byKey = new Map<string, Promise<LoadedPipeline>>();
  const layouts = new Map<string, { bindGroupLayout: GPUBindGroupLayout; layout: GPUPipelineLayout }>();
  for (const k of kernels) {
    const key = kernelKey(k);
    if (byKey.has(key)) continue;
    const r = reflections.get(key)!;
    const entries = bindGroupLayoutEntries(r);
    const layoutKey = entries.map((e) => e.buffer!.type).join(',');
    device.pushErrorScope('validation');
    let shared = layouts.get(layoutKey);
    if (!shared) {
      const bindGroupLayout = device.createBindGroupLayout({ entries, label: `${label}:${layoutKey || 'empty'}` });
      const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout], label: `${label}:${layoutKey || 'empty'}` });
      shared = { bindGroupLayout, layout };
      layouts.set(layoutKey, shared);
    }
    const { bindGroupLayout, layout } = shared;
    const pending = device.createComputePipelineAsync({
      label: k.name,
      layout,
      compute: { module: modules.get(k.wgsl)!, entryPoint: k.entryPoint },
    });
    const scope = device.popErrorScope();
    stats.pipelinesCreated++;
    byKey.set(key, Promise.all([pending, scope]).then(
      ([pipeline, err]) => {
        if (err) throw new KilnError(`kernel '${k.name}': cannot create its pipeline: ${err.message}`);
        return { pipeline, bindGroupLayout };
      },
      (e: unknown) => {
        throw e instanceof KilnError ? e : new KilnError(`kernel '${k.name}': cannot create its pipeline: ${(e as Error).message}`);
      },
    ));
  }
  const entries = [...byKey.entries()];
  const settled = await Promise.allSettled(entries.map(([, p]) => p));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const done = new Map(entries.map(([key], i) => [key, (settled[i] as PromiseFulfilledResult<LoadedPipeline>).value]));
  return kernels.map((k) => done.get(kernelKey(k))!);
}

/** Every program buffer, created once; weights are copied in through a mapping at creation. */
function createProgramBuffers(
  program: Program, newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, stats: LoadStats,
): Map<number, GPUBuffer> {
  const buffers = new Map<number, GPUBuffer>();
  for (const b of program.buffers) {
    buffers.set(b.id, createProgramBuffer(newBuffer, program, b));
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

/** Creates one buffer of `program` through `newBuffer`; a weight (or state) gets its bytes through a mapping at creation. */
export function createProgramBuffer(newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, program: Program, b: BufferSpec): GPUBuffer {
  const weight = b.role === 'weight' || b.role === 'state';
  const buffer = newBuffer({ size: b.bytes, usage: storageUsage(), mappedAtCreation: weight, label: b.label ?? `${b.role}${b.id}` });
  if (weight) {
    const src = program.weights.subarray(b.weightOffset!, b.weightOffset! + b.bytes);
    new Uint8Array(buffer.getMappedRange()).set(src);
    buffer.unmap();
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
export function planUniforms(program: Program, reflections: ReadonlyMap<string, KernelReflection>): UniformPlan {
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
  newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, program: Program, plan: UniformPlan, label: string,
): GPUBuffer | undefined {
  if (plan.total === 0) return undefined;
  const buffer = newBuffer({ size: plan.total, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true, label: `${label}:uniforms` });
  const words = new Uint32Array(buffer.getMappedRange());
  program.dispatches.forEach((d, i) => {
    // Uint32Array stores negative i32 words as their two's complement bits.
    if (d.uniforms) words.set(d.uniforms, plan.slices[i]!.offset / 4);
  });
  buffer.unmap();
  return buffer;
}

/** One uniform buffer holding every dispatch's own slice, written once at load (shapes are static). */
function createUniforms(
  program: Program, reflections: ReadonlyMap<string, KernelReflection>,
  newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, label: string,
): (UniformSlice | undefined)[] {
  const plan = planUniforms(program, reflections);
  const buffer = createUniformBuffer(newBuffer, program, plan, label);
  return plan.slices.map((l) => l && buffer && { buffer, ...l });
}

/** Each dispatch's pipeline and bind group (created once, inside error scopes naming the dispatch). */
async function createSteps(
  device: GPUDevice, program: Program, pipelines: readonly LoadedPipeline[],
  buffers: ReadonlyMap<number, GPUBuffer>, uniforms: readonly (UniformSlice | undefined)[],
  label: string, stats: LoadStats,
): Promise<Step[]> {
  const checks: Promise<void>[] = [];
  const steps = program.dispatches.map((d: DispatchSpec, i): Step => {
    const { pipeline, bindGroupLayout } = pipelines[d.kernel]!;
    const entries: GPUBindGroupEntry[] = d.buffers.map((id, binding) => ({ binding, resource: { buffer: buffers.get(id)! } }));
    const u = uniforms[i];
    if (u) entries.push({ binding: d.buffers.length, resource: { buffer: u.buffer, offset: u.offset, size: u.size } });
    device.pushErrorScope('validation');
    const bindGroup = device.createBindGroup({ layout: bindGroupLayout, entries, label: `${label}:${d.label}` });
    stats.bindGroupsCreated++;
    checks.push(device.popErrorScope().then((err) => {
      if (err) throw new KilnError(`dispatch #${i} '${d.label}' (kernel '${program.kernels[d.kernel]!.name}'): cannot create its bind group: ${err.message}`);
    }));
    return { pipeline, bindGroup, workgroups: d.workgroups };
  });
  await Promise.all(checks);
  return steps;
}

/**
 * Makes the driver compile every pipeline now rather than in the first run (lavapipe compiles
 * at first dispatch): one indirect dispatch of each with zero workgroups, which computes nothing.
 * Indirect, because Dawn warns on a literal dispatchWorkgroups(0) and cannot see this count.
 */
async function warmUp(device: GPUDevice, program: Program, steps: readonly Step[], label: string, stats: LoadStats): Promise<void> {
  const firstUse = new Map<GPUComputePipeline, Step>();
  for (const s of steps) if (!firstUse.has(s.pipeline)) firstUse.set(s.pipeline, s);
  if (firstUse.size === 0) return;
  // Created zeroed, as WebGPU guarantees: workgroup counts (0, 0, 0).
  const zeroCounts = device.createBuffer({ size: 12, usage: GPUBufferUsage.INDIRECT, label: `${label}:warmup` });
  stats.buffersCreated++;
  try {
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label: `${label}:warmup` });
    const pass = encoder.beginComputePass({ label: `${label}:warmup` });
    for (const s of firstUse.values()) {
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroupsIndirect(zeroCounts, 0);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
    const err = await device.popErrorScope();
    if (err) throw new KilnError(`program '${program.name}': warming up its pipelines failed: ${err.message}`);
    await device.queue.onSubmittedWorkDone();
  } finally {
    zeroCounts.destroy();
  }
}

/** One MAP_READ staging buffer with a slot per distinct output buffer, and the copies that fill it. */
function planReadback(
  program: Program, buffers: ReadonlyMap<number, GPUBuffer>, newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, label: string,
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
