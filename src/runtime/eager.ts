import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, numel, type DType, type Shape } from '../ir/types.js';
import type { GpuDevice } from './device.js';
import { deviceBytes, fromDeviceBytes, hostDataProblem } from './host-data.js';
import { createProgramBuffer, createUniformBuffer, planUniforms, storageUsage, type UniformPlan } from './load-buffers.js';
import { checkFeatures, checkProgramOnDevice, checkSizesOnDevice, compileProblem, kernelKey } from './load-checks.js';
import { deviceBufferBytes, validateProgram, type KernelSpec, type Program, type StaticProgram } from './program.js';
import { describeSizes, isDynamicProgram, resolveProgram, type SizeValues } from './sizes.js';
import { bindGroupLayoutEntries, type KernelReflection } from './reflect.js';

// Eager execution: programs run at once over buffers the caller owns (tensors living on the
// device), each run submitted without waiting; only a readback waits. Where a Session loads one
// program and owns all its buffers, an EagerRunner serves many small programs (one per op and
// form of shapes) and hands their output buffers to the caller. A program compiled for a range
// of shapes runs at the sizes each run gives: its uniform words are written before the run's
// commands (the queue keeps them in order, so no run waits), and its outputs are made for those
// sizes, never for the range's largest.

/** What an EagerRunner has created and done, for tests that prove a repeated op creates nothing. */
export interface EagerStats {
  shaderModulesCreated: number;
  pipelinesCreated: number;
  programsPrepared: number;
  runs: number;
  submits: number;
  uploads: number;
  bytesUploaded: number;
  readbacks: number;
  /** Buffers handed to the caller (uploads and run outputs) and not yet freed. */
  liveBuffers: number;
}

/** An output of a run: a fresh buffer the caller owns, or the input buffer `aliasOf` (a reshape). */
export interface EagerOutput {
  readonly buffer: GPUBuffer;
  readonly aliasOf?: number;
}

interface CompiledKernel {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
}

/** A program ready to run: its kernels compiled, its uniforms and weights on the device. */
interface PreparedProgram {
  readonly kernels: readonly CompiledKernel[];
  readonly reflections: ReadonlyMap<string, KernelReflection>;
  readonly plan: UniformPlan;
  readonly uniforms: GPUBuffer | undefined;
  readonly weights: ReadonlyMap<number, GPUBuffer>;
  /** Program input index of each input buffer id. */
  readonly inputOf: ReadonlyMap<number, number>;
  /** The program at the sizes its uniform buffer was last written for (the program itself when static). */
  sized: { readonly key: string; readonly program: StaticProgram };
}

const runners = new WeakMap<GpuDevice, EagerRunner>();

/**
 * Runs Programs eagerly on one device. Pipelines are cached by WGSL and prepared programs by
 * identity, so running a program again creates only its output buffers and bind groups.
 * Pipelines are created synchronously at a kernel's first use: an eager op must be issued when
 * it is called. GPU validation errors arrive asynchronously; they are reported, naming the run,
 * by the next readback or flush().
 */
export class EagerRunner {
  readonly gpu: GpuDevice;
  private readonly counters: EagerStats = {
    shaderModulesCreated: 0, pipelinesCreated: 0, programsPrepared: 0, runs: 0, submits: 0,
    uploads: 0, bytesUploaded: 0, readbacks: 0, liveBuffers: 0,
  };
  private readonly pipelines = new Map<string, CompiledKernel>();
  private readonly layouts = new Map<string, { bindGroupLayout: GPUBindGroupLayout; layout: GPUPipelineLayout }>();
  private readonly prepared = new WeakMap<Program, PreparedProgram>();
  /** Error-scope checks not yet settled; a readback waits for them. */
  private readonly outstanding = new Set<Promise<void>>();
  /** The earliest-issued GPU error not yet reported (errors may settle out of order). */
  private firstError: { readonly seq: number; readonly message: string } | undefined;
  private issued = 0;

  private constructor(gpu: GpuDevice) {
    this.gpu = gpu;
  }

  /** The runner of `gpu` (one per device, created at first use). */
  static for(gpu: GpuDevice): EagerRunner {
    let r = runners.get(gpu);
    if (!r) runners.set(gpu, (r = new EagerRunner(gpu)));
    return r;
  }

  /** A snapshot of what this runner has created and done. */
  get stats(): Readonly<EagerStats> {
    return { ...this.counters };
  }

  /**
   * A new device buffer holding `t` (bool widened to u32, as programs expect); the caller frees it.
   * The data is copied at once into the buffer mapped at creation, its staging memory (never
   * through writeBuffer, so data in a SharedArrayBuffer is fine), and reaches the device before
   * any later submit: the upload never waits, and every later op sees the data.
   */
  upload(t: TensorData, label = 'tensor'): GPUBuffer {
    this.gpu.assertUsable('uploading a tensor');
    const problem = hostDataProblem(t);
    if (problem) throw new KilnError(`cannot upload ${formatShapeType(t.dtype, t.shape)}: ${problem}`);
    const bytes = deviceBytes(t);
    const size = deviceBufferBytes(t.dtype, numel(t.shape));
    this.checkSize(size, formatShapeType(t.dtype, t.shape));
    const buffer = this.gpu.device.createBuffer({ size, usage: storageUsage(), mappedAtCreation: true, label });
    new Uint8Array(buffer.getMappedRange()).set(bytes);
    buffer.unmap();
    this.counters.uploads++;
    this.counters.bytesUploaded += bytes.byteLength;
    this.counters.liveBuffers++;
    return buffer;
  }

  /**
   * Runs `program` over `inputs` (one device buffer per program input, in order) and returns
   * one buffer per program output. Encodes one compute pass and submits it without waiting.
   * A program compiled for a range of shapes needs the `sizes` of this run (bound from the
   * inputs' shapes by the caller, who knows them).
   */
  run(given: Program, inputs: readonly GPUBuffer[], label = given.name, sizes?: SizeValues): EagerOutput[] {
    this.gpu.assertUsable(`running '${label}'`);
    if (inputs.length !== given.inputs.length) {
      throw new KilnError(`'${label}' takes ${given.inputs.length} input buffer(s), got ${inputs.length}`);
    }
    if (isDynamicProgram(given) && !sizes) throw new KilnError(`'${label}' varies in ${describeSizes(given.sizes!)}: run it with the sizes of its inputs`);
    const p = this.prepare(given, sizes);
    const program = this.atSizes(given, p, sizes);
    const device = this.gpu.device;
    const buffers = new Map<number, GPUBuffer>(p.weights);
    program.inputs.forEach((t, i) => buffers.set(t.buffer, inputs[i]!));
    const fresh: GPUBuffer[] = [];
    for (const b of program.buffers) {
      if (buffers.has(b.id)) continue;
      const buffer = device.createBuffer({ size: b.bytes, usage: storageUsage(), label: `${label}:${b.label ?? b.id}` });
      buffers.set(b.id, buffer);
      fresh.push(buffer);
    }

    // A program output held in a weight buffer (a constant output) is copied out: the weight
    // belongs to the prepared program, which other runs share.
    const outputs: EagerOutput[] = program.outputs.map((o) => {
      const aliasOf = p.inputOf.get(o.buffer);
      if (aliasOf !== undefined) return { buffer: inputs[aliasOf]!, aliasOf };
      return { buffer: buffers.get(o.buffer)! };
    });
    const weightOutputs = outputs.flatMap((o, i) => (p.weights.has(program.outputs[i]!.buffer) ? [i] : []));
    for (const i of weightOutputs) {
      const src = outputs[i]!.buffer;
      const copy = device.createBuffer({ size: src.size, usage: storageUsage(), label: `${label}:${program.outputs[i]!.name}` });
      fresh.push(copy);
      outputs[i] = { buffer: copy };
    }

    device.pushErrorScope('validation');
    try {
      const encoder = device.createCommandEncoder({ label });
      if (program.dispatches.length) {
        const pass = encoder.beginComputePass({ label });
        let current: GPUComputePipeline | undefined;
        program.dispatches.forEach((d, i) => {
          const k = p.kernels[d.kernel]!;
          const entries: GPUBindGroupEntry[] = d.buffers.map((id, binding) => ({ binding, resource: { buffer: buffers.get(id)! } }));
          const slice = p.plan.slices[i];
          if (slice) entries.push({ binding: d.buffers.length, resource: { buffer: p.uniforms!, offset: slice.offset, size: slice.size } });
          const bindGroup = device.createBindGroup({ layout: k.bindGroupLayout, entries, label: `${label}:${d.label}` });
          if (k.pipeline !== current) pass.setPipeline((current = k.pipeline));
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
        });
        pass.end();
      }
      for (const i of weightOutputs) {
        const src = buffers.get(program.outputs[i]!.buffer)!;
        encoder.copyBufferToBuffer(src, 0, outputs[i]!.buffer, 0, src.size);
      }
      if (program.dispatches.length || weightOutputs.length) {
        device.queue.submit([encoder.finish()]);
        this.counters.submits++;
      }
    } catch (e) {
      for (const b of fresh) b.destroy();
      throw e;
    } finally {
      this.track(device.popErrorScope().then((err) => err && `'${label}' failed on the GPU: ${err.message}`));
    }
    this.counters.runs++;
    // Scratch buffers go now: destroying a buffer after the submit that uses it is allowed, and
    // the device frees it once that work is done.
    const kept = new Set(outputs.map((o) => o.buffer));
    for (const b of fresh) {
      if (kept.has(b)) this.counters.liveBuffers++;
      else b.destroy();
    }
    return outputs;
  }

  /** Copies a buffer's `dtype[shape]` contents to the host; waits for the work queued before it. */
  async readback(buffer: GPUBuffer, dtype: DType, shape: Shape): Promise<TensorData> {
    this.gpu.assertUsable('reading a tensor back');
    const device = this.gpu.device;
    const bytes = deviceBufferBytes(dtype, numel(shape));
    const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'readback' });
    try {
      device.pushErrorScope('validation');
      const encoder = device.createCommandEncoder({ label: 'readback' });
      encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
      device.queue.submit([encoder.finish()]);
      this.counters.submits++;
      this.track(device.popErrorScope().then((err) => err && `reading ${formatShapeType(dtype, shape)} back failed: ${err.message}`));
      let mapFailure: unknown;
      await staging.mapAsync(GPUMapMode.READ).catch((e: unknown) => { mapFailure = e; });
      await this.flush();
      if (mapFailure !== undefined) {
        this.gpu.assertUsable('reading a tensor back');
        throw new KilnError(`reading ${formatShapeType(dtype, shape)} back failed: ${(mapFailure as Error)?.message ?? String(mapFailure)}`);
      }
      this.counters.readbacks++;
      return fromDeviceBytes(dtype, shape, new Uint8Array(staging.getMappedRange()));
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
      staging.destroy();
    }
  }

  /** Frees a buffer this runner handed out (an upload or a run output). */
  free(buffer: GPUBuffer): void {
    buffer.destroy();
    this.counters.liveBuffers--;
  }

  /**
   * Waits until every error check of the work issued so far has settled, and throws the first
   * GPU error among them (once) as a KilnError naming the run.
   */
  async flush(): Promise<void> {
    while (this.outstanding.size) await Promise.all([...this.outstanding]);
    const e = this.firstError;
    this.firstError = undefined;
    if (e) throw new KilnError(e.message);
  }

  private track(check: Promise<string | null | undefined>): void {
    const seq = this.issued++;
    const record = (message: string) => {
      if (!this.firstError || seq < this.firstError.seq) this.firstError = { seq, message };
    };
    const settled: Promise<void> = check.then(
      (msg) => { if (msg) record(msg); },
      (e: unknown) => record(String((e as Error)?.message ?? e)),
    ).finally(() => { this.outstanding.delete(settled); });
    this.outstanding.add(settled);
  }

  private checkSize(bytes: number, what: string): void {
    const max = this.gpu.limits['maxBufferSize'] ?? 2 ** 28;
    if (bytes > max) throw new KilnError(`${what} needs a ${bytes}-byte buffer; this device allows ${max}`);
  }

  /**
   * Validates a program against the device once, compiles its kernels and creates its uniforms
   * (for `sizes`, the first run's, when the program takes a range of shapes) and weights.
   */
  private prepare(given: Program, sizes: SizeValues | undefined): PreparedProgram {
    const hit = this.prepared.get(given);
    if (hit) return hit;
    validateProgram(given);
    if (sizes) checkSizes(given, sizes);
    const program = sized(given, sizes);
    checkFeatures(this.gpu, program);
    const reflections = checkProgramOnDevice(this.gpu, program);
    const kernels = program.kernels.map((k) => this.compile(k, reflections.get(kernelKey(k))!));
    const device = this.gpu.device;
    const plan = planUniforms(program, reflections);
    const uniforms = createUniformBuffer((d) => device.createBuffer(d), program, plan, program.name);
    const weights = new Map<number, GPUBuffer>();
    for (const b of program.buffers) {
      if (b.role === 'weight') weights.set(b.id, createProgramBuffer((d) => device.createBuffer(d), program, b, device.queue));
    }
    const inputOf = new Map(program.inputs.map((t, i) => [t.buffer, i]));
    const p: PreparedProgram = { kernels, reflections, plan, uniforms, weights, inputOf, sized: { key: sizesKey(sizes), program } };
    this.prepared.set(given, p);
    this.counters.programsPrepared++;
    return p;
  }

  /**
   * The program at this run's sizes: when they differ from those its uniform buffer holds, checked
   * against the device and its words written (queued before this run's commands, after earlier runs').
   */
  private atSizes(given: Program, p: PreparedProgram, sizes: SizeValues | undefined): StaticProgram {
    const key = sizesKey(sizes);
    if (key === p.sized.key) return p.sized.program;
    checkSizes(given, sizes!);
    const program = sized(given, sizes);
    checkSizesOnDevice(this.gpu, program, p.reflections);
    program.dispatches.forEach((d, i) => {
      const slice = p.plan.slices[i];
      if (slice && d.uniforms) this.gpu.device.queue.writeBuffer(p.uniforms!, slice.offset, Uint32Array.from(d.uniforms));
    });
    p.sized = { key, program };
    return program;
  }

  /** The pipeline of a kernel, created at its first use and shared by every program with the same WGSL. */
  private compile(k: KernelSpec, r: KernelReflection): CompiledKernel {
    const key = kernelKey(k);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const device = this.gpu.device;
    const entries = bindGroupLayoutEntries(r);
    const layoutKey = entries.map((e) => e.buffer!.type).join(',');
    device.pushErrorScope('validation');
    let shared = this.layouts.get(layoutKey);
    if (!shared) {
      const bindGroupLayout = device.createBindGroupLayout({ entries, label: `eager:${layoutKey || 'empty'}` });
      const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout], label: `eager:${layoutKey || 'empty'}` });
      this.layouts.set(layoutKey, (shared = { bindGroupLayout, layout }));
    }
    const module = device.createShaderModule({ code: k.wgsl, label: k.name });
    this.counters.shaderModulesCreated++;
    const pipeline = device.createComputePipeline({ label: k.name, layout: shared.layout, compute: { module, entryPoint: k.entryPoint } });
    this.counters.pipelinesCreated++;
    const scope = device.popErrorScope();
    this.track(Promise.all([scope, module.getCompilationInfo()]).then(([err, info]) =>
      compileProblem(k, err, info) ?? (err ? `kernel '${k.name}': cannot create its pipeline: ${err.message}` : undefined)));
    const compiled = { pipeline, bindGroupLayout: shared.bindGroupLayout };
    this.pipelines.set(key, compiled);
    return compiled;
  }
}

function sizesKey(sizes: SizeValues | undefined): string {
  return sizes ? [...sizes].map(([name, n]) => `${name}=${n}`).join(',') : '';
}

/** Throws unless `sizes` gives every size variable of `program` a value within its range. */
function checkSizes(program: Program, sizes: SizeValues): void {
  for (const v of program.sizes ?? []) {
    const n = sizes.get(v.name);
    if (n === undefined || !Number.isInteger(n) || n < v.min || n > v.max) {
      throw new KilnError(`program '${program.name}': size ${v.name} is ${n ?? 'not given'}, outside the range ${v.min}..${v.max} it was compiled for`);
    }
  }
}

/**
 * The static program `given` is at `sizes`, its input and output buffers made for those sizes
 * (a run creates its outputs at the size they have, not the range's largest). Other buffers
 * (weights, and scratch, whose sizes the program does not spell out) keep theirs.
 */
function sized(given: Program, sizes: SizeValues | undefined): StaticProgram {
  if (!isDynamicProgram(given)) return given as StaticProgram;
  const program = resolveProgram(given, sizes!);
  const bytes = new Map<number, number>();
  for (const t of [...program.inputs, ...program.outputs]) {
    bytes.set(t.buffer, Math.max(bytes.get(t.buffer) ?? 0, deviceBufferBytes(t.dtype, numel(t.shape))));
  }
  return { ...program, buffers: program.buffers.map((b) => (bytes.has(b.id) ? { ...b, bytes: bytes.get(b.id)! } : b)) };
}
