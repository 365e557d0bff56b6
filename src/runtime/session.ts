import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, numel, shapesEqual } from '../ir/types.js';
import { DeviceLostError, MissingFeatureError, type GpuDevice } from './device.js';
import { copyBytes, fromDeviceBytes, hostDataProblem, toDeviceBytes } from './host-data.js';
import { deviceBufferBytes, validateProgram, type DispatchSpec, type KernelSpec, type Program, type TensorBinding } from './program.js';
import { GpuWaiter, type WaitStrategy } from './gpu-wait.js';
import { bindGroupLayoutEntries, checkDispatch, checkKernelLimits, reflectKernel, type KernelReflection } from './reflect.js';

/** What a session has created and done; steady-state runs change only `runs` and `submits`. */
export interface SessionStats {
  pipelinesCreated: number;
  shaderModulesCreated: number;
  buffersCreated: number;
  bindGroupsCreated: number;
  weightBytesUploaded: number;
  weightUploads: number;
  runs: number;
  submits: number;
}

export interface SessionOptions {
  /** Prefix of GPU object labels (defaults to the program name). */
  readonly label?: string;
  /** How run() waits for the GPU (default 'sleep'; see GpuWaiter). */
  readonly wait?: WaitStrategy;
}

/** A host tensor may be given as TensorData; its dtype and shape must match the program's input. */
export type SessionInputs = Readonly<Record<string, TensorData>>;

// Dynamic offsets are not used, but every dispatch gets its own slice of one uniform buffer
// (queue.writeBuffer lands at submit time, so a shared slice would be overwritten), aligned to
// the largest minUniformBufferOffsetAlignment WebGPU allows so the layout is the same everywhere.
const UNIFORM_SLICE_ALIGN = 256;

/** WGSL `enable` directives and the WebGPU feature each needs. */
const WGSL_ENABLES: Readonly<Record<string, string>> = { f16: 'shader-f16', subgroups: 'subgroups' };

interface PreparedInput {
  readonly buffer: GPUBuffer;
  readonly bytes: ArrayBufferView;
}

interface Readback {
  readonly output: TensorBinding;
  /** Where this output's bytes start in the staging buffer. */
  readonly offset: number;
}

interface LoadedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
}

interface Step {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/** A Program loaded on a device: every GPU object created once, then run many times. */
export class Session {
  readonly program: Program;
  readonly gpu: GpuDevice;
  private readonly counters: SessionStats;
  private readonly buffers: ReadonlyMap<number, GPUBuffer>;
  private readonly ownedBuffers: readonly GPUBuffer[];
  private readonly steps: readonly Step[];
  private readonly copies: readonly { src: GPUBuffer; dstOffset: number; bytes: number }[];
  private readonly readbacks: readonly Readback[];
  private readonly staging: GPUBuffer | undefined;
  private readonly label: string;
  /** Resolves when the last queued run has settled; runs chain on it to stay serialized. */
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private destroyed = false;
  private readonly waiter: GpuWaiter;

  private constructor(init: {
    program: Program; gpu: GpuDevice; counters: SessionStats; buffers: Map<number, GPUBuffer>;
    ownedBuffers: GPUBuffer[]; steps: Step[]; staging: GPUBuffer | undefined; label: string;
    copies: { src: GPUBuffer; dstOffset: number; bytes: number }[]; readbacks: Readback[]; wait: WaitStrategy | undefined;
  }) {
    this.program = init.program;
    this.gpu = init.gpu;
    this.counters = init.counters;
    this.buffers = init.buffers;
    this.ownedBuffers = init.ownedBuffers;
    this.steps = init.steps;
    this.staging = init.staging;
    this.copies = init.copies;
    this.readbacks = init.readbacks;
    this.label = init.label;
    this.waiter = new GpuWaiter(init.wait);
  }

  /** Validates `program`, creates its buffers, pipelines and bind groups, and uploads its weights once. */
  static async create(gpu: GpuDevice, program: Program, opts: SessionOptions = {}): Promise<Session> {
    gpu.assertUsable(`loading program '${program.name}'`);
    validateProgram(program);
    checkFeatures(gpu, program);
    const label = opts.label ?? program.name;
    const stats: SessionStats = {
      pipelinesCreated: 0, shaderModulesCreated: 0, buffersCreated: 0, bindGroupsCreated: 0,
      weightBytesUploaded: 0, weightUploads: 0, runs: 0, submits: 0,
    };
    const device = gpu.device;

    // Shader modules, one per distinct WGSL text; Dawn's compile messages beat any reflection error.
    const modules = await createShaderModules(device, program.kernels, stats);

    // Reflect each distinct (WGSL, entry point) and check every dispatch against it before
    // creating anything that needs freeing.
    const reflections = new Map<string, KernelReflection>();
    const kernelKey = (k: KernelSpec): string => `${k.entryPoint}\u0000${k.wgsl}`;
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

    const pipelines = await createPipelines(device, program.kernels, modules, reflections, kernelKey, label, stats);

    const owned: GPUBuffer[] = [];
    const newBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
      const b = device.createBuffer(desc);
      owned.push(b);
      stats.buffersCreated++;
      return b;
    };
    try {
      const buffers = createProgramBuffers(program, newBuffer, stats);
      const uniformSlices = createUniforms(program, reflections, kernelKey, newBuffer, label);
      const steps = await createSteps(device, program, pipelines, buffers, uniformSlices, label, stats);
      const { staging, copies, readbacks } = planReadback(program, buffers, newBuffer, label);
      return new Session({ program, gpu, counters: stats, buffers, ownedBuffers: owned, steps, staging, copies, readbacks, label, wait: opts.wait });
    } catch (e) {
      for (const b of owned) b.destroy();
      throw e;
    }
  }

  /** A snapshot of what this session has created and done. */
  get stats(): Readonly<SessionStats> {
    return { ...this.counters };
  }

  /**
   * Runs the program on `inputs` (one entry per program input) and returns every output.
   * One command buffer, one submit, one readback. Concurrent calls are queued and run in order.
   */
  run(inputs: SessionInputs): Promise<Record<string, TensorData>> {
    let prepared: PreparedInput[];
    try {
      if (this.destroyed) throw new KilnError(`session '${this.label}' was destroyed`);
      // Inputs are checked now, so a bad call fails at once rather than after queued runs.
      prepared = this.prepareInputs(inputs);
    } catch (e) {
      return Promise.reject(e);
    }
    // A queued run reads its inputs later; copy them so the caller may reuse its arrays meanwhile.
    if (this.pending > 0) prepared = prepared.map((p) => ({ buffer: p.buffer, bytes: copyBytes(p.bytes) }));
    this.pending++;
    const result = this.tail.then(() => this.execute(prepared));
    this.tail = result.then(
      () => { this.pending--; },
      () => { this.pending--; },
    );
    return result;
  }

  /** Frees the session's buffers (after any queued run settles). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    void this.tail.then(() => {
      for (const b of this.ownedBuffers) b.destroy();
    });
  }

  private prepareInputs(inputs: SessionInputs): PreparedInput[] {
    const where = `program '${this.program.name}'`;
    if (typeof inputs !== 'object' || inputs === null) throw new KilnError(`${where}: run() takes an object of named input tensors`);
    const expected = new Map(this.program.inputs.map((t) => [t.name, t]));
    const signature = (): string => this.program.inputs.map((t) => `${t.name}: ${formatShapeType(t.dtype, t.shape)}`).join(', ') || 'no inputs';
    const unknown = Object.keys(inputs).filter((n) => !expected.has(n));
    const missing = this.program.inputs.filter((t) => !(t.name in inputs));
    if (unknown.length || missing.length) {
      const parts: string[] = [];
      if (unknown.length) parts.push(`unknown input(s) ${unknown.map((n) => `'${n}'`).join(', ')}`);
      if (missing.length) parts.push(`missing input(s) ${missing.map((t) => `'${t.name}'`).join(', ')}`);
      throw new KilnError(`${where}: ${parts.join('; ')}; it takes ${signature()}`);
    }
    return this.program.inputs.map((t) => {
      const given = inputs[t.name]!;
      if (given.dtype !== t.dtype || !shapesEqual(given.shape, t.shape)) {
        throw new KilnError(`input '${t.name}' expects ${formatShapeType(t.dtype, t.shape)}, got ${formatShapeType(given.dtype, given.shape ?? [])}`);
      }
      const problem = hostDataProblem(given);
      if (problem) throw new KilnError(`input '${t.name}': ${problem}`);
      return { buffer: this.buffers.get(t.buffer)!, bytes: toDeviceBytes(given) };
    });
  }

  private async execute(inputs: readonly PreparedInput[]): Promise<Record<string, TensorData>> {
    if (this.destroyed) throw new KilnError(`session '${this.label}' was destroyed`);
    this.gpu.assertUsable(`running program '${this.program.name}'`);
    const device = this.gpu.device;
    const queue = device.queue;
    this.counters.runs++;

    // Catches what validation would otherwise report only to the console (e.g. a limit we missed).
    device.pushErrorScope('validation');
    let scope: Promise<GPUError | null>;
    try {
      for (const { buffer, bytes } of inputs) {
        if (bytes.byteLength > 0) queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }
      const encoder = device.createCommandEncoder({ label: this.label });
      const pass = encoder.beginComputePass({ label: this.label });
      for (const s of this.steps) {
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
      }
      pass.end();
      for (const c of this.copies) encoder.copyBufferToBuffer(c.src, 0, this.staging!, c.dstOffset, c.bytes);
      queue.submit([encoder.finish()]);
      this.counters.submits++;
    } finally {
      // The scope must be popped whatever happened, or it would swallow later errors.
      scope = device.popErrorScope();
    }

    const staging = this.staging;
    const done = this.waiter.wait(() => (staging ? staging.mapAsync(GPUMapMode.READ) : queue.onSubmittedWorkDone()));
    const [error, mapped] = await Promise.allSettled([scope, done]);
    const gpuError = error.status === 'fulfilled' ? error.value : null;
    if (gpuError || mapped.status === 'rejected') {
      if (this.staging?.mapState === 'mapped') this.staging.unmap();
      if (this.gpu.isLost) this.gpu.assertUsable(`running program '${this.program.name}'`);
      const why = gpuError?.message ?? (mapped.status === 'rejected' ? String((mapped.reason as Error)?.message ?? mapped.reason) : '');
      throw new KilnError(`running program '${this.program.name}' failed on the GPU: ${why}`);
    }
    const out: Record<string, TensorData> = {};
    if (!this.staging) return out;
    try {
      const bytes = new Uint8Array(this.staging.getMappedRange());
      for (const { output, offset } of this.readbacks) {
        out[output.name] = fromDeviceBytes(output.dtype, output.shape, bytes.subarray(offset));
      }
    } finally {
      this.staging.unmap();
    }
    return out;
  }
}

/** Throws when the device lacks a feature the program or one of its kernels needs. */
function checkFeatures(gpu: GpuDevice, program: Program): void {
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
async function createShaderModules(device: GPUDevice, kernels: readonly KernelSpec[], stats: SessionStats): Promise<Map<string, GPUShaderModule>> {
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
      const errors = info.messages.filter((m) => m.type === 'error');
      if (!err && errors.length === 0) return;
      const lines = errors.map((m) => `  ${m.lineNum}:${m.linePos}: ${m.message}`);
      const detail = lines.length ? `\n${lines.join('\n')}` : `: ${err!.message}`;
      throw new KilnError(`kernel '${k.name}': WGSL does not compile${detail}`);
    }));
  }
  await Promise.all(checks);
  return modules;
}

/** One compute pipeline per distinct (WGSL, entry point), all compiled in parallel, with explicit layouts. */
async function createPipelines(
  device: GPUDevice, kernels: readonly KernelSpec[], modules: ReadonlyMap<string, GPUShaderModule>,
  reflections: ReadonlyMap<string, KernelReflection>, kernelKey: (k: KernelSpec) => string,
  label: string, stats: SessionStats,
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
  program: Program, newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, stats: SessionStats,
): Map<number, GPUBuffer> {
  const buffers = new Map<number, GPUBuffer>();
  for (const b of program.buffers) {
    const weight = b.role === 'weight';
    const buffer = newBuffer({
      size: b.bytes,
      // COPY_SRC on all: any buffer may be an output, and readback copies from it.
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      mappedAtCreation: weight,
      label: b.label ?? `${b.role}${b.id}`,
    });
    if (weight) {
      const src = program.weights.subarray(b.weightOffset!, b.weightOffset! + b.bytes);
      new Uint8Array(buffer.getMappedRange()).set(src);
      buffer.unmap();
      stats.weightUploads++;
      stats.weightBytesUploaded += b.bytes;
    }
    buffers.set(b.id, buffer);
  }
  return buffers;
}

interface UniformSlice {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly size: number;
}

/** One uniform buffer holding every dispatch's own slice, written once at load (shapes are static). */
function createUniforms(
  program: Program, reflections: ReadonlyMap<string, KernelReflection>, kernelKey: (k: KernelSpec) => string,
  newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, label: string,
): (UniformSlice | undefined)[] {
  const layout: ({ offset: number; size: number } | undefined)[] = [];
  let total = 0;
  for (const d of program.dispatches) {
    if (!d.uniforms) {
      layout.push(undefined);
      continue;
    }
    const r = reflections.get(kernelKey(program.kernels[d.kernel]!))!;
    // Uniform structs are 16-byte aligned in size, so bind at least that much.
    const size = roundUp(Math.max(d.uniforms.length * 4, r.uniform!.minBytes, 4), 16);
    layout.push({ offset: total, size });
    total = roundUp(total + size, UNIFORM_SLICE_ALIGN);
  }
  if (total === 0) return layout.map(() => undefined);
  const buffer = newBuffer({ size: total, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, mappedAtCreation: true, label: `${label}:uniforms` });
  const words = new Uint32Array(buffer.getMappedRange());
  program.dispatches.forEach((d, i) => {
    // Uint32Array stores negative i32 words as their two's complement bits.
    if (d.uniforms) words.set(d.uniforms, layout[i]!.offset / 4);
  });
  buffer.unmap();
  return layout.map((l) => l && { buffer, ...l });
}

/** Each dispatch's pipeline and bind group (created once, inside error scopes naming the dispatch). */
async function createSteps(
  device: GPUDevice, program: Program, pipelines: readonly LoadedPipeline[],
  buffers: ReadonlyMap<number, GPUBuffer>, uniforms: readonly (UniformSlice | undefined)[],
  label: string, stats: SessionStats,
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

/** One MAP_READ staging buffer with a slot per distinct output buffer, and the copies that fill it. */
function planReadback(
  program: Program, buffers: ReadonlyMap<number, GPUBuffer>, newBuffer: (d: GPUBufferDescriptor) => GPUBuffer, label: string,
): { staging: GPUBuffer | undefined; copies: { src: GPUBuffer; dstOffset: number; bytes: number }[]; readbacks: Readback[] } {
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
