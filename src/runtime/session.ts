import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, shapesEqual } from '../ir/types.js';
import type { GpuDevice } from './device.js';
import { GpuWaiter, type WaitStrategy } from './gpu-wait.js';
import { copyBytes, fromDeviceBytes, hostDataProblem, toDeviceBytes } from './host-data.js';
import { loadProgram, type LoadStats, type LoadedProgram } from './load.js';
import type { Program } from './program.js';

/**
 * What a session has created and done; steady-state runs change only `runs` and `submits`
 * (`submits` counts run() submits; the load-time warm-up submit is not one of them).
 */
export interface SessionStats extends LoadStats {
  runs: number;
  submits: number;
}

export interface SessionOptions {
  /** Prefix of GPU object labels (defaults to the program name). */
  readonly label?: string;
  /** How run() waits for the GPU (default 'sleep'; see GpuWaiter). */
  readonly wait?: WaitStrategy;
  /**
   * Dispatch every pipeline once with zero workgroups at load (default true): lavapipe compiles
   * a shader only when it is first dispatched, which would otherwise land in the first run
   * (measured: 16 kernels, first run 1.5-3.3 s without warm-up, 15 ms with it).
   */
  readonly warmup?: boolean;
}

/** A host tensor may be given as TensorData; its dtype and shape must match the program's input. */
export type SessionInputs = Readonly<Record<string, TensorData>>;

interface PreparedInput {
  readonly buffer: GPUBuffer;
  readonly bytes: ArrayBufferView;
}

/** A Program loaded on a device: every GPU object created once, then run many times. */
export class Session {
  readonly program: Program;
  readonly gpu: GpuDevice;
  private readonly counters: SessionStats;
  private readonly loaded: LoadedProgram;
  private readonly label: string;
  private readonly waiter: GpuWaiter;
  /** Resolves when the last queued run has settled; runs chain on it to stay serialized. */
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private destroyed = false;

  private constructor(program: Program, gpu: GpuDevice, loaded: LoadedProgram, counters: SessionStats, label: string, wait: WaitStrategy | undefined) {
    this.program = program;
    this.gpu = gpu;
    this.loaded = loaded;
    this.counters = counters;
    this.label = label;
    this.waiter = new GpuWaiter(wait);
  }

  /** Validates `program`, creates its buffers, pipelines and bind groups, and uploads its weights once. */
  static async create(gpu: GpuDevice, program: Program, opts: SessionOptions = {}): Promise<Session> {
    const stats: SessionStats = {
      pipelinesCreated: 0, shaderModulesCreated: 0, buffersCreated: 0, bindGroupsCreated: 0,
      weightBytesUploaded: 0, weightUploads: 0, runs: 0, submits: 0,
    };
    const label = opts.label ?? program.name;
    const loaded = await loadProgram(gpu, program, { label, warmup: opts.warmup !== false }, stats);
    return new Session(program, gpu, loaded, stats, label, opts.wait);
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
      for (const b of this.loaded.owned) b.destroy();
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
      if (typeof given !== 'object' || given === null || !Array.isArray(given.shape) || !ArrayBuffer.isView(given.data)) {
        throw new KilnError(`input '${t.name}' must be tensor data { dtype, shape, data }, e.g. tensorData('${t.dtype}', [${t.shape.join(',')}], values)`);
      }
      if (given.dtype !== t.dtype || !shapesEqual(given.shape, t.shape)) {
        throw new KilnError(`input '${t.name}' expects ${formatShapeType(t.dtype, t.shape)}, got ${formatShapeType(given.dtype, given.shape)}`);
      }
      const problem = hostDataProblem(given);
      if (problem) throw new KilnError(`input '${t.name}': ${problem}`);
      return { buffer: this.loaded.buffers.get(t.buffer)!, bytes: toDeviceBytes(given) };
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
      let current: GPUComputePipeline | undefined;
      for (const s of this.loaded.steps) {
        // Consecutive dispatches of one kernel (common after deduplication) keep the pipeline bound.
        if (s.pipeline !== current) pass.setPipeline((current = s.pipeline));
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
      }
      pass.end();
      for (const c of this.loaded.copies) encoder.copyBufferToBuffer(c.src, 0, this.loaded.staging!, c.dstOffset, c.bytes);
      queue.submit([encoder.finish()]);
      this.counters.submits++;
    } finally {
      // The scope must be popped whatever happened, or it would swallow later errors.
      scope = device.popErrorScope();
    }

    const staging = this.loaded.staging;
    const done = this.waiter.wait(() => (staging ? staging.mapAsync(GPUMapMode.READ) : queue.onSubmittedWorkDone()));
    const [error, mapped] = await Promise.allSettled([scope, done]);
    const gpuError = error.status === 'fulfilled' ? error.value : null;
    if (gpuError || mapped.status === 'rejected') {
      if (staging?.mapState === 'mapped') staging.unmap();
      if (this.gpu.isLost) this.gpu.assertUsable(`running program '${this.program.name}'`);
      const why = gpuError?.message ?? (mapped.status === 'rejected' ? String((mapped.reason as Error)?.message ?? mapped.reason) : '');
      throw new KilnError(`running program '${this.program.name}' failed on the GPU: ${why}`);
    }
    const out: Record<string, TensorData> = {};
    if (!staging) return out;
    try {
      const bytes = new Uint8Array(staging.getMappedRange());
      for (const { output, offset } of this.loaded.readbacks) {
        out[output.name] = fromDeviceBytes(output.dtype, output.shape, bytes.subarray(offset));
      }
    } finally {
      staging.unmap();
    }
    return out;
  }
}

