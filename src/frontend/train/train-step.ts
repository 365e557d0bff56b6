import { compileWithReport, type CompileOptions } from '../../compiler.js';
import { KilnError } from '../../ir/errors.js';
import { Graph, type Value } from '../../ir/graph.js';
import { tensorData, type TensorData } from '../../ir/tensor-data.js';
import { numel, type DType, type Shape } from '../../ir/types.js';
import { differentiate, gradName } from '../../passes/autodiff/differentiate.js';
import type { CompileStats } from '../../codegen/stats.js';
import { GpuDevice } from '../../runtime/device.js';
import type { Program } from '../../runtime/program.js';
import { Session, StagedInputs } from '../../runtime/session.js';
import { autocastState } from '../torch/amp/autocast.js';
import type { GradScaler } from '../torch/amp/grad-scaler.js';
import { requireDTypeOn, resolveGpu, type DeviceLike } from '../torch/devices.js';
import type { Module } from '../torch/module.js';
import { UpdateBuilder, type Optimizer } from '../torch/optim.js';
import { hostTensorData } from '../torch/host-values.js';
import { defaultRandom } from '../torch/random.js';
import { bindTraceValue, Tensor, tracing } from '../torch/tensor.js';
import { drawMask, trainEffects, type BufferUpdate, type MaskInput, type TrainEffects } from '../torch/train-effects.js';
import { FOUND_INF, GROWTH_TRACKER, SCALE, scaledLoss, unscaleGradients, type ScalerStep } from './amp-step.js';
import { withState, type StateSpec } from './program-state.js';

// A compiled training step: forward, loss, backward and the optimizer's update traced once into
// one graph, compiled into one Program, and run as one command buffer per step. Parameters and
// optimizer state live in the Program's state buffers, on the device, across steps; a step
// uploads only its batch and the learning rate, and reads back the loss only when asked.

/** A batch: named tensors (host data, or CPU tensors) matching the example batch. */
export type Batch = Readonly<Record<string, Tensor | TensorData>>;

/** The loss of a batch, computed from the model (traced once with symbolic tensors). */
export type LossFn<M extends Module> = (model: M, batch: Record<string, Tensor>) => Tensor;

export interface TrainStepOptions extends Pick<CompileOptions, 'pipeline'> {
  /** The WebGPU device to train on: by default the parameters' device, else kiln's default device. */
  readonly device?: Exclude<DeviceLike, 'cpu'>;
  /** Read the loss back every this many steps (default 1); other steps never wait for a readback. */
  readonly readLossEvery?: number;
  /**
   * Clip the gradients by their joint 2-norm before the update, as `clipGradNorm_(params,
   * maxGradNorm)` between `backward()` and `step()` does; the step then also reports the norm.
   */
  readonly maxGradNorm?: number;
  /**
   * Trace the loss under `autocast('webgpu')` (kiln.amp): matrix products and convolutions in
   * float16, reductions, softmax and losses in float32, parameters kept in float32.
   */
  readonly autocast?: 'float16';
  /**
   * Dynamic loss scaling on the device (kiln.amp.GradScaler's scale, factors and interval): the
   * loss is scaled, the gradients unscaled (before clipping), a step with an inf or NaN
   * gradient changes no parameter nor optimizer state, and the scale is updated, with no
   * readback. `syncToModel()` gives the scaler its state back.
   */
  readonly gradScaler?: GradScaler;
}

/** What one step reports. */
export interface StepResult {
  /** The batch's loss (before this step's update), when it was read back. */
  readonly loss?: number;
  /** The gradients' joint 2-norm before clipping, read back with the loss (with `maxGradNorm`). */
  readonly gradNorm?: number;
  /** Whether the update was skipped for an inf or NaN gradient, read back with the loss (with `gradScaler`). */
  readonly skipped?: boolean;
}

/** The learning-rate input of parameter group `i` ('lr' for the first, so one group reads as before). */
const lrInput = (i: number) => (i === 0 ? 'lr' : `lr.${i}`);
const STEP = 'state.step';
const GRAD_NORM = 'grad_norm';
const paramInput = (path: string) => `param.${path}`;
const stateInput = (path: string, name: string) => `state.${path}.${name}`;

/** A compiled training step; see compileTrainStep. */
export class TrainStep {
  /** Steps run so far by this object. */
  steps = 0;

  /** @internal */
  constructor(
    readonly session: Session,
    readonly program: Program,
    /** What the compiler did (kernels, dispatches, memory). */
    readonly compileStats: CompileStats,
    /** The module whose parameters this step trains. */
    readonly model: Module,
    private readonly optimizer: Optimizer,
    private readonly params: readonly { readonly path: string; readonly tensor: Tensor; readonly trained: boolean }[],
    private readonly batchNames: readonly string[],
    private readonly readLossEvery: number,
    /** Buffers the step updates (BatchNorm's running statistics) and masks it draws (Dropout). */
    private readonly effects: { readonly buffers: readonly BufferUpdate[]; readonly masks: readonly MaskInput[] },
    private readonly clipsGradients: boolean,
    private readonly scaler: GradScaler | undefined,
  ) {}

  /** Uploads a batch now into a free input slot (while an earlier step may still run); pass the result to run(). */
  stage(batch: Batch): StagedInputs {
    return this.session.stage(this.feeds(batch));
  }

  /**
   * Runs one step on a batch (or on a staged one): one submit; resolves once the device has
   * finished it. The loss is read back on every `readLossEvery`-th step, or when `readLoss` says so.
   */
  async run(batch: Batch | StagedInputs, opts: { readLoss?: boolean } = {}): Promise<StepResult> {
    const readLoss = opts.readLoss ?? this.steps % this.readLossEvery === 0;
    const inputs = batch instanceof StagedInputs ? batch : this.feeds(batch);
    this.steps++;
    // With a scaler the device counts the steps taken (skipped ones do not count); syncToModel reads it.
    if (!this.scaler) this.optimizer.stepCount++;
    const read = readLoss ? ['loss', ...(this.clipsGradients ? [GRAD_NORM] : []), ...(this.scaler ? [FOUND_INF] : [])] : [];
    const out = await this.session.run(inputs, { outputs: read });
    if (!readLoss) return {};
    const scalar = (name: string) => (out[name]!.data as Float32Array)[0]!;
    return {
      loss: scalar('loss'),
      ...(this.clipsGradients ? { gradNorm: scalar(GRAD_NORM) } : {}),
      ...(this.scaler ? { skipped: scalar(FOUND_INF) !== 0 } : {}),
    };
  }

  /**
   * Copies the trained parameters back into the module's tensors (on the device each lives on),
   * and the optimizer state into the optimizer, so eager code can continue from here.
   */
  async syncToModel(): Promise<void> {
    const read = (name: string) => this.session.readState(name);
    for (const p of this.params) {
      const data = await read(paramInput(p.path));
      const value = p.tensor.gpu ? Tensor.upload(data, p.tensor.gpu) : Tensor.fromData(data);
      p.tensor.setData(value);
    }
    for (const p of this.params.filter((q) => q.trained)) {
      const state = await Promise.all(this.optimizer.stateNames().map((n) => read(stateInput(p.path, n))));
      this.optimizer.state.set(p.tensor, state.map((d) => (p.tensor.gpu ? Tensor.upload(d, p.tensor.gpu) : Tensor.fromData(d))));
    }
    for (const u of this.effects.buffers) {
      const data = await read(u.input);
      u.buffer.setData(u.buffer.gpu ? Tensor.upload(data, u.buffer.gpu) : Tensor.fromData(data));
    }
    if (this.scaler) {
      const value = async (name: string) => ((await read(name)).data as Float32Array)[0]!;
      this.scaler.setCompiledState(await value(SCALE), await value(GROWTH_TRACKER));
      this.optimizer.stepCount = await value(STEP);
    }
  }

  /** Frees the step's device buffers (after queued steps finish). */
  destroy(): void {
    this.session.destroy();
  }

  private feeds(batch: Batch): Record<string, TensorData> {
    const out: Record<string, TensorData> = {};
    for (const name of this.batchNames) {
      const v = batch[name];
      if (v === undefined) throw new KilnError(`the batch has no '${name}' (the step was compiled for ${this.batchNames.map((n) => `'${n}'`).join(', ')})`);
      out[name] = v instanceof Tensor ? hostOf(v, `batch '${name}'`) : v;
    }
    this.optimizer.paramGroups.forEach((group, i) => { out[lrInput(i)] = tensorData('f32', [], [group.lr]); });
    // A fresh dropout mask per step, drawn when the batch is fed, so staged batches get their own.
    for (const m of this.effects.masks) out[m.input] = drawMask(m.dtype, m.shape, m.p, defaultRandom.current);
    return out;
  }
}

function hostOf(t: Tensor, what: string): TensorData {
  const d = t.knownHostData();
  if (!d) throw new KilnError(`${what} must be host data (a CPU tensor or TensorData), got ${t.toString()}`);
  return d;
}

/**
 * Traces `lossFn(model, batch)` on symbolic tensors shaped like `exampleBatch`, differentiates it
 * with respect to the optimizer's parameters, appends the optimizer's update, and compiles the
 * whole step to one Program whose parameters and optimizer state stay on the device:
 *
 *   const step = await compileTrainStep(model, (m, b) => crossEntropy(m.call(b.x), b.y), opt, { x, y });
 *   const { loss } = await step.run({ x: xBatch, y: yBatch });
 *   await step.syncToModel();
 *
 * The optimizer's hyperparameters other than the learning rate are compiled in; each parameter
 * group's `lr` (which a learning-rate scheduler sets) is read at every step. The model is traced in training mode:
 * buffers it updates (BatchNorm's running statistics) stay on the device and are updated by every
 * step, and each Dropout draws a new mask per step from kiln's default generator.
 */
export async function compileTrainStep<M extends Module>(
  model: M, lossFn: LossFn<M>, optimizer: Optimizer, exampleBatch: Readonly<Record<string, Tensor>>, opts: TrainStepOptions = {},
): Promise<TrainStep> {
  const named = model.namedParameters();
  const placed = [...new Set(named.map(([, p]) => p.device))];
  if (placed.length > 1) {
    throw new KilnError(
      `compileTrainStep compiles a step for one device, but the model's parameters are on ${placed.join(' and ')}: ` +
      'train a model split across devices eagerly (backward and the optimizer work across devices), or move it to one device',
    );
  }
  const gpuOfParams = named.map(([, p]) => p.gpu).find((g) => g !== undefined);
  const gpu = opts.device ? await resolveGpu(opts.device) : gpuOfParams ?? (await resolveGpu('webgpu'));
  if (!(gpu instanceof GpuDevice)) throw new KilnError('compileTrainStep needs a WebGPU device');
  if (opts.autocast !== undefined && opts.autocast !== 'float16') throw new KilnError(`compileTrainStep: autocast must be 'float16', got '${String(opts.autocast)}'`);
  if (opts.autocast) requireDTypeOn(gpu, 'f16', "compileTrainStep with autocast: 'float16'");
  const scaler = opts.gradScaler?.isEnabled() ? opts.gradScaler : undefined;
  const trainedSet = new Set(optimizer.params);
  for (const p of optimizer.params) {
    if (!named.some(([, q]) => q === p)) throw new KilnError('compileTrainStep: every optimizer parameter must be a parameter of the model');
  }
  const params = named.map(([path, tensor]) => ({ path, tensor, trained: trainedSet.has(tensor) }));

  const g = new Graph(`${model.constructor.name}_train_step`);
  const batchNames = Object.keys(exampleBatch);
  const like = named[0]?.[1];
  const batch: Record<string, Tensor> = {};
  for (const name of batchNames) {
    const t = exampleBatch[name]!;
    batch[name] = Tensor.symbolic(g, g.addInput(name, { dtype: t.dtype, shape: t.shape, device: 'webgpu' }), like ?? t);
  }
  // Each group's learning rate and the step counter are inputs by name; the optimizer's update reads them.
  optimizer.paramGroups.forEach((_, i) => g.addInput(lrInput(i), { dtype: 'f32', shape: [], device: 'webgpu' }));
  g.addInput(STEP, { dtype: 'f32', shape: [], device: 'webgpu' });
  const paramValues = params.map((p) => {
    const v = g.addInput(paramInput(p.path), { dtype: p.tensor.dtype, shape: p.tensor.shape, device: 'webgpu' });
    bindTraceValue(g, p.tensor, v);
    return v;
  });
  const stateNames = optimizer.stateNames();
  const stateValues = params.map((p) => (p.trained
    ? stateNames.map((n) => g.addInput(stateInput(p.path, n), { dtype: p.tensor.dtype, shape: p.tensor.shape, device: 'webgpu' }))
    : []));

  const outer = { ...tracing };
  const outerAutocast = autocastState.dtype;
  const wasTraining = model.training;
  const effects: TrainEffects = { bufferPaths: new Map(model.namedBuffers().map(([path, t]) => [t, path])), bufferUpdates: [], masks: [] };
  let loss: Tensor;
  try {
    trainEffects.current = effects;
    tracing.graph = g;
    tracing.device = 'webgpu';
    model.train();
    autocastState.dtype = opts.autocast ? 'f16' : undefined;
    loss = lossFn(model, batch);
  } finally {
    autocastState.dtype = outerAutocast;
    Object.assign(tracing, outer);
    trainEffects.current = undefined;
    model.train(wasTraining);
  }
  if (!loss.isSymbolic || loss.traceGraph !== g) throw new KilnError('compileTrainStep: the loss does not depend on the batch or the parameters');
  if (numel(loss.shape) !== 1 || (loss.dtype !== 'f32' && loss.dtype !== 'f16')) {
    throw new KilnError(`compileTrainStep: the loss must be a float scalar, got ${loss.toString()}`);
  }
  g.setOutputs([loss.value]);
  if (loss.value.producer) g.renameValue(loss.value, 'loss');

  const wrt = params.flatMap((p, i) => (p.trained ? [paramValues[i]!.name] : []));
  const back = differentiate(g, { loss: scaler ? scaledLoss(g, loss.value).name : g.outputs[0]!.name, wrt });
  const byName = new Map(back.values().map((v) => [v.name, v]));
  const b = new UpdateBuilder(back);
  const stepNext = b.add(byName.get(STEP)!, b.scalar(1, byName.get(STEP)!));
  const grads = new Map(params.flatMap((p, i) => (p.trained ? [[p, byName.get(gradName(paramValues[i]!.name))!] as const] : [])));
  const amp: ScalerStep | undefined = scaler ? unscaleGradients(b, byName, grads, scaler) : undefined;
  const guard = (old: Value, next: Value) => (amp ? amp.guard(old, next) : next);
  const updates: { input: string; value: Value }[] = [{ input: STEP, value: guard(byName.get(STEP)!, stepNext) }];
  const gradNorm = opts.maxGradNorm === undefined ? undefined : clipByNorm(b, grads, opts.maxGradNorm);
  const groupOf = new Map(optimizer.paramGroups.flatMap((group, i) => group.params.map((t) => [t, { group, lr: byName.get(lrInput(i))! }] as const)));
  params.forEach((p, i) => {
    if (!p.trained) return;
    const { group, lr } = groupOf.get(p.tensor)!;
    const param = byName.get(paramValues[i]!.name)!;
    const state = stateValues[i]!.map((v) => byName.get(v.name)!);
    const r = optimizer.update(b, { param, grad: grads.get(p)!, state, lr, step: stepNext }, group);
    updates.push({ input: param.name, value: guard(param, r.param) });
    state.forEach((s, k) => updates.push({ input: s.name, value: guard(s, r.state[k]!) }));
  });
  // Running statistics update on every step, skipped or not, as the forward pass does in PyTorch.
  for (const u of effects.bufferUpdates) updates.push({ input: u.input, value: byName.get(u.value.value.name)! });
  if (amp) updates.push(...amp.updates);
  back.setOutputs([back.outputs[0]!, ...updates.map((u) => u.value), ...(gradNorm ? [gradNorm] : []), ...(amp ? [amp.found] : [])]);
  if (gradNorm) back.renameValue(gradNorm, GRAD_NORM);
  if (amp) back.renameValue(amp.found, FOUND_INF);

  const { program: compiled, stats } = compileWithReport(back, { pipeline: opts.pipeline ?? 'O2' });
  const init = new Map<string, TensorData>();
  init.set(STEP, tensorData('f32', [], [optimizer.stepCount]));
  if (scaler) {
    const { scale, growthTracker } = scaler.compiledState();
    init.set(SCALE, tensorData('f32', [], [scale]));
    init.set(GROWTH_TRACKER, tensorData('f32', [], [growthTracker]));
  }
  await Promise.all(effects.bufferUpdates.map(async (u) => init.set(u.input, await hostValues(u.buffer))));
  await Promise.all(params.map(async (p) => {
    init.set(paramInput(p.path), await hostValues(p.tensor));
    if (!p.trained) return;
    const existing = optimizer.state.get(p.tensor);
    const { group } = groupOf.get(p.tensor)!;
    await Promise.all(stateNames.map(async (n, k) => {
      init.set(stateInput(p.path, n), existing?.[k] ? await hostValues(existing[k]!) : filled(p.tensor.dtype, p.tensor.shape, optimizer.initialState(n, group)));
    }));
  }));
  const specs: StateSpec[] = [
    ...updates.map((u, i) => ({ input: u.input, init: init.get(u.input)!, update: i + 1 })),
    ...params.filter((p) => !p.trained).map((p) => ({ input: paramInput(p.path), init: init.get(paramInput(p.path))! })),
  ];
  const program = withState(compiled, specs);
  const session = await Session.create(gpu, program, { inputSlots: 2 });
  const stepEffects = { buffers: effects.bufferUpdates, masks: effects.masks };
  return new TrainStep(session, program, stats, model, optimizer, params, batchNames, Math.max(1, opts.readLossEvery ?? 1), stepEffects, gradNorm !== undefined, scaler);
}

/**
 * Replaces each gradient in `grads` by itself times min(1, maxNorm / (norm + 1e-6)), where norm
 * is the 2-norm of all of them together (computed in f32), exactly as `clipGradNorm_`; returns
 * the norm.
 */
function clipByNorm<K>(b: UpdateBuilder, grads: Map<K, Value>, maxNorm: number): Value {
  if (!(maxNorm >= 0)) throw new KilnError(`compileTrainStep: maxGradNorm must be non-negative, got ${maxNorm}`);
  if (!grads.size) throw new KilnError('compileTrainStep: maxGradNorm needs a trained parameter');
  const squares = [...grads.values()].map((g) => {
    const s = b.op('sum', b.mul(g, g));
    return s.type.dtype === 'f32' ? s : b.graph.addNode('cast', [s], { to: 'f32' }).output;
  });
  const norm = b.op('sqrt', squares.reduce((x, y) => b.add(x, y)));
  const coef = b.op('minimum', b.div(b.scalar(maxNorm, norm), b.add(norm, b.scalar(1e-6, norm))), b.scalar(1, norm));
  for (const [k, g] of grads) grads.set(k, b.mul(g, b.like(coef, g)));
  return norm;
}

async function hostValues(t: Tensor): Promise<TensorData> {
  return t.knownHostData() ?? (await t.to('cpu')).data;
}

function filled(dtype: DType, shape: Shape, value: number): TensorData {
  return hostTensorData(dtype, shape, new Array<number>(numel(shape)).fill(value));
}
