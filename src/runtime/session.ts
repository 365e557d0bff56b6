import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, shapesEqual } from '../ir/types.js';
import { acquireDevice, type GpuDevice } from './device.js';
import { GpuWaiter } from './gpu-wait.js';
import { HostCopies } from './host-copies.js';
import { UploadStaging } from './upload-staging.js';
import { CommandsAhead, encodeRun, readbackKey, ValidatedRun, type RunKey } from './run-commands.js';
import { DEFAULT_RUN_TIMEOUT_MS, RunTimeoutError, withDeadline } from './run-deadline.js';
import { copyBytes, hostDataProblem, toDeviceBytes } from './host-data.js';
import { checkOutputArrays, readOutputs, type OutputArrays } from './read-outputs.js';
import { loadProgram, type LoadedProgram } from './load.js';
import { isDynamicProgram, largestSizes, resolveForLoad, sizesKeyOf, type SizeValues } from './sizes.js';
import { loadedForSizes } from './loaded-sizes.js';
import type { Program, TensorBinding } from './program.js';
import { prepareInputs, writeInputs, type PreparedInput } from './session-inputs.js';
import { keepOutputs, type KeptOutputs } from './kept-outputs.js';
import { readDeviceBuffer } from './device-tensor.js';
import type { RunOptions, RunOutputs, SessionInputs, SessionOptions, SessionStats } from './session-options.js';

// A Program loaded on a device and run many times (its options and counters: session-options.ts;
// checking a run's inputs: session-inputs.ts).

/** Inputs uploaded ahead of their run by `Session.stage`; pass to `run` once. */
export class StagedInputs {
  /** @internal */
  constructor(readonly session: Session, readonly slot: number, readonly sizes: SizeValues | undefined) {}
}

/** What one queued run does: upload (unless staged), which slot it reads, what it reads back. */
interface RunPlan {
  readonly writes: readonly PreparedInput[] | undefined;
  /** Copies of the caller's bytes among `writes`, the pool's again once uploaded. */
  readonly copies: readonly Uint8Array[];
  readonly slot: number | undefined;
  readonly outputs: ReadonlySet<string> | undefined;
  /** The outputs kept on the device (RunOptions.keep), none read back. */
  readonly keep: readonly string[];
  /** The sizes the inputs bind (a program compiled for a range of shapes). */
  readonly sizes: SizeValues | undefined;
  /** The caller's arrays to read outputs into (RunOptions.into). */
  readonly into: OutputArrays | undefined;
}

/** A Program loaded on a device: every GPU object created once, then run many times. */
export class Session {
  readonly program: Program;
  private device: GpuDevice;
  /** True once the session recovered onto a device of its own, which it destroys with itself. */
  private ownsDevice = false;
  private readonly counters: SessionStats;
  /** What a run encodes: `base` with each dispatch's variant for the sizes bound last (see applySizes). */
  private loaded: LoadedProgram;
  /** Every GPU object loading made, every dispatch's variants as dispatches of their own (variantsAsDispatches). */
  private base: LoadedProgram;
  /** Per dispatch, where its variants and then its own kernel sit among `base`'s steps. */
  private readonly variantAt: readonly (readonly number[])[];
  private readonly label: string;
  private readonly waiter: GpuWaiter;
  /** The next run's commands, encoded while the device computes the current one. */
  private readonly ahead: CommandsAhead;
  private readonly hostCopies = new HostCopies();
  /** Staging buffers for large inputs (upload-staging.ts), of the device the session runs on. */
  private uploads: UploadStaging;
  private readonly validated = new ValidatedRun();
  private readonly opts: SessionOptions;
  /** Resolves when the last queued run has settled; runs chain on it to stay serialized. */
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private destroyed = false;
  /** Slots holding staged inputs whose run has not been submitted yet. */
  private readonly reserved = new Set<number>();
  private readonly unusedStages = new WeakSet<StagedInputs>();
  /** The sizes the loaded program computes for now (see applySizes). */
  private sizesKey: string | undefined;
  /** The variant each dispatch runs for those sizes (see chosenVariants). */
  private chosen: readonly (number | undefined)[];

  private constructor(
    program: Program, gpu: GpuDevice, loaded: LoadedProgram, variantAt: readonly (readonly number[])[],
    counters: SessionStats, label: string, opts: SessionOptions,
  ) {
    this.program = program;
    this.device = gpu;
    this.base = this.loaded = loaded;
    this.variantAt = variantAt;
    this.counters = counters;
    this.label = label;
    this.opts = opts;
    this.waiter = new GpuWaiter(opts.wait);
    this.uploads = new UploadStaging(gpu.device, label);
    this.ahead = new CommandsAhead(opts.encodeAhead !== false);
    this.chosen = program.dispatches.map(() => undefined);
    if (isDynamicProgram(program)) this.applySizes(largestSizes(program));
  }

  /** The device the session runs on (a new one after recovering from a loss). */
  get gpu(): GpuDevice {
    return this.device;
  }

  /** Validates `program`, creates its buffers, pipelines and bind groups, and uploads its weights once. */
  static async create(gpu: GpuDevice, program: Program, opts: SessionOptions = {}): Promise<Session> {
    const stats: SessionStats = {
      pipelinesCreated: 0, shaderModulesCreated: 0, buffersCreated: 0, bindGroupsCreated: 0,
      weightBytesUploaded: 0, weightUploads: 0, runs: 0, submits: 0,
    };
    const label = opts.label ?? program.name;
    // A program compiled for a range of shapes is loaded as made for its largest sizes, with every
    // kernel variant; each run then picks variants and rewrites only uniform words, workgroup
    // counts and readback sizes (applySizes).
    const { program: all, at } = resolveForLoad(program);
    const loaded = await loadProgram(gpu, all, loadOptions(label, opts), stats);
    return new Session(program, gpu, loaded, at, stats, label, opts);
  }

  /** A snapshot of what this session has created and done. */
  get stats(): Readonly<SessionStats> {
    return { ...this.counters };
  }

  /**
   * Runs the program on `inputs` (one entry per program input) and returns every output (those
   * `opts.keep` names as DeviceTensors, kept on the device). One submit, one readback.
   * Concurrent calls are queued and run in order.
   */
  run(inputs: SessionInputs | StagedInputs, opts?: RunOptions & { readonly keep?: undefined }): Promise<Record<string, TensorData>>;
  run(inputs: SessionInputs | StagedInputs, opts: RunOptions): Promise<RunOutputs>;
  run(inputs: SessionInputs | StagedInputs, opts: RunOptions = {}): Promise<RunOutputs> {
    let plan: RunPlan;
    try {
      if (this.destroyed) throw new KilnError(`session '${this.label}' was destroyed`);
      const outputs = this.selectOutputs(opts.outputs);
      const keep = [...(this.selectOutputs(opts.keep) ?? [])];
      const both = keep.filter((n) => outputs?.has(n));
      if (both.length) throw new KilnError(`program '${this.program.name}': output(s) ${both.map((n) => `'${n}'`).join(', ')} asked both read back (outputs) and kept on the device (keep)`);
      const into = opts.into;
      if (into) {
        this.selectOutputs(Object.keys(into)); // only names of outputs
        checkOutputArrays(this.program.name, into, outputs, keep);
      }
      if (inputs instanceof StagedInputs) {
        if (inputs.session !== this || !this.unusedStages.has(inputs)) {
          throw new KilnError(`program '${this.program.name}': these staged inputs were already run, or belong to another session`);
        }
        this.unusedStages.delete(inputs);
        plan = { writes: undefined, copies: [], slot: inputs.slot, outputs, keep, sizes: inputs.sizes, into };
      } else {
        // Inputs are checked now, so a bad call fails at once rather than after queued runs.
        // Every run uploads its inputs later than run() returns (even the first: it starts in a
        // microtask), so bytes still in the caller's arrays are copied now (toDeviceBytes already
        // copied the others), and the caller may refill its arrays at once.
        const { writes, sizes } = prepareInputs(this.program, inputs, this.gpu);
        const copies: Uint8Array[] = [];
        const prepared = writes.map((p, i) => {
          if (!('bytes' in p) || p.bytes.buffer !== (inputs[this.program.inputs[i]!.name] as TensorData).data.buffer) return p;
          const bytes = this.hostCopies.copy(p.bytes);
          copies.push(bytes);
          return { id: p.id, bytes };
        });
        plan = { writes: prepared, copies, slot: undefined, outputs, keep, sizes, into };
      }
    } catch (e) {
      return Promise.reject(e);
    }
    const timeout = opts.timeoutMs ?? this.opts.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    return withDeadline(this.enqueue(() => this.execute(plan)), timeout, () => new RunTimeoutError(
      `program '${this.program.name}': the run did not finish within ${timeout} ms (the GPU is overloaded or hung); ` +
      'the session stays usable: later runs wait for this one to finish on the device, each with its own deadline',
    ));
  }

  /**
   * Uploads the inputs of a later run now, into an input slot no queued run reads, and returns
   * the handle to pass to `run`. Throws when every slot holds staged inputs not yet run.
   */
  stage(inputs: SessionInputs): StagedInputs {
    if (this.destroyed) throw new KilnError(`session '${this.label}' was destroyed`);
    const { writes: prepared, sizes } = prepareInputs(this.program, inputs, this.gpu);
    const slot = this.freeSlot();
    if (slot === undefined) {
      throw new KilnError(`program '${this.program.name}': all ${this.loaded.slots.length} input slot(s) hold staged inputs not run yet; run one first (or create the session with more inputSlots)`);
    }
    this.gpu.assertUsable(`staging inputs of program '${this.program.name}'`);
    const copies = this.write(slot, prepared);
    if (copies) this.gpu.device.queue.submit([copies]);
    this.reserved.add(slot);
    const handle = new StagedInputs(this, slot, sizes);
    this.unusedStages.add(handle);
    return handle;
  }

  /** The current value of a state tensor (Program.state), after every run queued so far. */
  readState(name: string): Promise<TensorData> {
    let binding: TensorBinding;
    try {
      binding = this.stateBinding(name);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueue(() => readDeviceBuffer(this.gpu.device, this.loaded.buffers.get(binding.buffer)!, binding.dtype, binding.shape, `${this.label}:state:${name}`));
  }

  /** Replaces a state tensor's value, after every run queued so far. */
  writeState(name: string, data: TensorData): Promise<void> {
    try {
      const binding = this.stateBinding(name);
      if (data.dtype !== binding.dtype || !shapesEqual(data.shape, binding.shape)) {
        throw new KilnError(`state '${name}' is ${formatShapeType(binding.dtype, binding.shape)}, got ${formatShapeType(data.dtype, data.shape)}`);
      }
      const problem = hostDataProblem(data);
      if (problem) throw new KilnError(`state '${name}': ${problem}`);
      const bytes = copyBytes(toDeviceBytes(data));
      return this.enqueue(async () => {
        this.gpu.device.queue.writeBuffer(this.loaded.buffers.get(binding.buffer)!, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The variant each dispatch runs for the sizes bound last (undefined: the dispatch's own
   * kernel), as indices into its `variants`.
   */
  get chosenVariants(): readonly (number | undefined)[] {
    return this.chosen;
  }

  /** Makes the loaded program compute for `sizes` (see loadedForSizes), unless it already does. */
  private applySizes(sizes: SizeValues): void {
    const key = sizesKeyOf(sizes);
    if (key === this.sizesKey) return;
    ({ loaded: this.loaded, chosen: this.chosen } = loadedForSizes(this.program, this.base, this.variantAt, sizes, this.gpu.device.queue));
    this.sizesKey = key;
  }

  /** Runs `job` after every queued run, keeping them serialized. */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(job);
    this.tail = result.then(
      () => { this.pending--; },
      () => { this.pending--; },
    );
    return result;
  }

  private stateBinding(name: string): TensorBinding {
    if (this.destroyed) throw new KilnError(`session '${this.label}' was destroyed`);
    const b = this.program.state?.find((t) => t.name === name);
    if (!b) {
      const names = (this.program.state ?? []).map((t) => `'${t.name}'`).join(', ');
      throw new KilnError(`program '${this.program.name}' has no state tensor '${name}' (it has ${names || 'none'})`);
    }
    return b;
  }

  private selectOutputs(names: readonly string[] | undefined): ReadonlySet<string> | undefined {
    if (names === undefined) return undefined;
    const known = new Set(this.program.outputs.map((o) => o.name));
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length) {
      throw new KilnError(`program '${this.program.name}' has no output(s) ${unknown.map((n) => `'${n}'`).join(', ')} (outputs: ${[...known].join(', ') || 'none'})`);
    }
    return new Set(names);
  }

  private freeSlot(): number | undefined {
    for (let k = 0; k < this.loaded.slots.length; k++) if (!this.reserved.has(k)) return k;
    return undefined;
  }

  /** Fills input slot `slot`: small host bytes now (they land at the next submit), large ones and device tensors by the copies returned, to submit. */
  private write(slot: number, inputs: readonly PreparedInput[]): GPUCommandBuffer | undefined {
    return writeInputs(this.gpu, this.loaded.slots[slot]!.inputs, inputs, `${this.label}:inputs`, this.uploads);
  }

  /** Frees the session's buffers (after any queued run settles). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.ahead.clear();
    this.hostCopies.clear();
    this.uploads.close();
    void this.tail.then(() => {
      for (const b of this.loaded.owned) b.destroy();
      if (this.ownsDevice) this.device.destroy();
    });
  }

  /** Loads the program on a new device after the current one was lost (SessionOptions.recover). */
  private async recover(): Promise<void> {
    const lost = this.device;
    const gpu = await acquireDevice({ requiredFeatures: this.program.requiredFeatures ?? [] });
    try {
      this.base = this.loaded = await loadProgram(gpu, resolveForLoad(this.program).program, loadOptions(this.label, this.opts), this.counters);
      this.sizesKey = undefined;
      this.ahead.clear();
    } catch (e) {
      gpu.destroy();
      throw e;
    }
    if (this.ownsDevice) lost.destroy();
    this.device = gpu;
    this.uploads.close();
    this.uploads = new UploadStaging(gpu.device, this.label);
    this.ownsDevice = true;
    if (isDynamicProgram(this.program)) this.applySizes(largestSizes(this.program));
    this.reserved.clear(); // staged inputs lived on the lost device
  }

  private async execute(plan: RunPlan): Promise<RunOutputs> {
    if (plan.slot !== undefined && this.destroyed) this.reserved.delete(plan.slot);
    if (this.destroyed) throw new KilnError(`session '${this.label}' was destroyed`);
    if (this.opts.recover && this.gpu.isLost) await this.recover();
    this.gpu.assertUsable(`running program '${this.program.name}'`);
    const device = this.gpu.device;
    const queue = device.queue;
    this.counters.runs++;

    const slotIndex = plan.slot ?? this.freeSlot() ?? 0;
    const wanted = plan.outputs;
    // Sizes unchanged keep this.loaded: a run like one that passed validation is trusted to pass.
    const sameSizes = !plan.sizes || sizesKeyOf(plan.sizes) === this.sizesKey;
    const trusted = sameSizes && !plan.keep.length && !plan.writes?.some((p) => 'tensor' in p) &&
      this.validated.covers({ loaded: this.loaded, slot: slotIndex, outputs: readbackKey(wanted) });
    // Catches what validation would otherwise report only to the console (e.g. a limit we missed);
    // a run without the scope fails on any uncaptured error meanwhile instead.
    if (!trusted) device.pushErrorScope('validation');
    const uncaptured = this.gpu.uncapturedErrors.count;
    let scope: Promise<GPUError | null>;
    if (plan.sizes) this.applySizes(plan.sizes);
    const loaded = this.loaded;
    const readbacks = loaded.readbacks.filter((r) => (!wanted || wanted.has(r.output.name)) && !plan.keep.includes(r.output.name));
    const offsets = new Set(readbacks.map((r) => r.offset));
    const copies = loaded.copies.filter((c) => offsets.has(c.dstOffset));
    const key: RunKey = { loaded, slot: slotIndex, outputs: readbackKey(wanted) };
    const encode = (keptCopies?: KeptOutputs['copies']) => encodeRun(device, loaded, slotIndex, copies, this.label, keptCopies);
    let kept: KeptOutputs | undefined;
    try {
      const inputCopies = plan.writes ? this.write(slotIndex, plan.writes) : undefined;
      // Kept outputs are copied into buffers new to each run, so such runs encode their own commands.
      if (plan.keep.length) kept = keepOutputs(this.gpu, loaded, plan.keep, this.label);
      const commands = kept ? encode(kept.copies) : this.ahead.take(key, encode);
      queue.submit(inputCopies ? [inputCopies, commands] : [commands]);
      this.counters.submits++;
    } catch (e) {
      for (const t of Object.values(kept?.tensors ?? {})) t.destroy();
      throw e;
    } finally {
      // The scope must be popped whatever happened, or it would swallow later errors.
      scope = trusted ? Promise.resolve(null) : device.popErrorScope();
      // writeBuffer copied the bytes it was given (or the run failed before uploading them).
      this.hostCopies.release(plan.copies);
      // Submitted: later uploads into this slot are ordered after this run on the device queue.
      if (plan.slot !== undefined) this.reserved.delete(plan.slot);
    }
    if (!kept) this.ahead.prepare(device, key, encode, trusted);

    const staging = copies.length ? this.loaded.staging : undefined;
    // Input staging buffers handed out since the last wait (this run's, a failed run's, stage()'s)
    // map again as this run's work finishes: waited for here, not before (see UploadStaging.remap).
    const done = this.waiter.wait(() => {
      void this.uploads.remap();
      return staging ? staging.mapAsync(GPUMapMode.READ) : queue.onSubmittedWorkDone();
    });
    const [error, mapped] = await Promise.allSettled([scope, done]);
    const errors = this.gpu.uncapturedErrors;
    const gpuError = trusted ? (errors.count !== uncaptured ? errors.last : undefined) : error.status === 'fulfilled' ? error.value?.message : undefined;
    if (!kept) this.validated.record(key, gpuError === undefined && mapped.status === 'fulfilled');
    if (gpuError !== undefined || mapped.status === 'rejected') {
      if (staging?.mapState === 'mapped') staging.unmap();
      for (const t of Object.values(kept?.tensors ?? {})) t.destroy();
      if (this.gpu.isLost) this.gpu.assertUsable(`running program '${this.program.name}'`);
      const why = gpuError ?? (mapped.status === 'rejected' ? String((mapped.reason as Error)?.message ?? mapped.reason) : '');
      throw new KilnError(`running program '${this.program.name}' failed on the GPU: ${why}`);
    }
    if (!staging) return { ...kept?.tensors };
    try {
      return { ...kept?.tensors, ...readOutputs(new Uint8Array(staging.getMappedRange()), readbacks, plan.into) };
    } finally {
      staging.unmap();
    }
  }
}

/** What loadProgram takes of the session's options. */
function loadOptions(label: string, opts: SessionOptions) {
  return { label, warmup: opts.warmup !== false, inputSlots: opts.inputSlots ?? 1 };
}
