import { KilnError } from '../../../ir/errors.js';
import { noGrad } from '../autograd-tape.js';
import type { Optimizer } from '../optimizer.js';
import { apply, type Tensor } from '../tensor.js';

// Dynamic loss scaling, as torch.amp.GradScaler: the loss is multiplied by a scale before
// backward so that small float16 gradients do not flush to zero; the gradients are divided by it
// again before the optimizer step, which is skipped when any of them overflowed (inf or NaN).
// The scale backs off after an overflow and grows after `growthInterval` clean steps. The scale
// is kept on the host (a float32 value, as PyTorch's scale tensor): deciding whether to step
// reads the overflow flag back, where PyTorch's step() synchronizes too.

/** Options of GradScaler, each defaulting as PyTorch's. */
export interface GradScalerOptions {
  readonly initScale?: number;
  readonly growthFactor?: number;
  readonly backoffFactor?: number;
  readonly growthInterval?: number;
  /** False makes every method a pass-through (scale returns the loss, step just steps). */
  readonly enabled?: boolean;
}

/** GradScaler's state, as `state_dict()` gives it. */
export interface GradScalerStateDict {
  readonly scale: number;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly growthTracker: number;
}

/** Where an optimizer is in the iteration since the last update() (PyTorch's OptState). */
interface PerOptimizer {
  stage: 'unscaled' | 'stepped';
  /** A float32 scalar per device of the gradients: 1 when one of them was inf or NaN, else 0. */
  readonly foundInf: Tensor[];
  /** The flags read back (once step() or update() needed them). */
  found?: boolean;
}

const f32 = Math.fround;

/**
 * Dynamic loss scaling for mixed-precision training, with PyTorch's methods and semantics:
 *
 *   const scaler = new kiln.amp.GradScaler();
 *   const loss = kiln.amp.autocast('webgpu', () => crossEntropy(model.call(x), y));
 *   await scaler.scale(loss).backward();
 *   scaler.unscale(opt);                       // optional: to clip the true gradients
 *   kiln.nn.utils.clipGradNorm_(model.parameters(), 1);
 *   await scaler.step(opt);                    // skipped when a gradient is inf/NaN
 *   await scaler.update();
 */
export class GradScaler {
  private scaleValue: number | undefined;
  private growthTracker = 0;
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private readonly initScale: number;
  private readonly enabled: boolean;
  private perOptimizer = new Map<Optimizer, PerOptimizer>();

  constructor(opts: GradScalerOptions = {}) {
    this.initScale = opts.initScale ?? 2 ** 16;
    this.growthFactor = opts.growthFactor ?? 2;
    this.backoffFactor = opts.backoffFactor ?? 0.5;
    this.growthInterval = opts.growthInterval ?? 2000;
    this.enabled = opts.enabled ?? true;
    if (this.enabled) {
      if (!(this.growthFactor > 1)) throw new KilnError('The growth factor must be > 1.0.');
      if (!(this.backoffFactor < 1)) throw new KilnError('The backoff factor must be < 1.0.');
      if (!Number.isInteger(this.growthInterval) || this.growthInterval <= 0) throw new KilnError(`growthInterval must be a positive integer, got ${this.growthInterval}`);
      if (!(this.initScale > 0)) throw new KilnError(`initScale must be positive, got ${this.initScale}`);
    }
  }

  isEnabled(): boolean {
    return this.enabled;
  }

  /**
   * The loss (or each of several outputs) multiplied by the scale, in float32 (a float16 loss is
   * widened first, so that the scale itself cannot overflow it). The scale starts at `initScale`.
   */
  scale(outputs: Tensor): Tensor;
  scale(outputs: readonly Tensor[]): Tensor[];
  scale(outputs: Tensor | readonly Tensor[]): Tensor | Tensor[] {
    if (!this.enabled) return Array.isArray(outputs) ? [...outputs] : (outputs as Tensor);
    this.scaleValue ??= f32(this.initScale);
    const s = this.scaleValue;
    const one = (t: Tensor) => (t.dtype === 'f32' ? t : t.float()).mul(s);
    return Array.isArray(outputs) ? outputs.map(one) : one(outputs as Tensor);
  }

  /**
   * Divides the gradients of `optimizer`'s parameters by the scale, in place, and notes whether
   * any was inf or NaN, as `unscale_`: call it before clipping the gradients; step() then does
   * not unscale again. Once per optimizer per iteration. Nothing waits for the device.
   */
  unscale(optimizer: Optimizer): void {
    if (!this.enabled) return;
    const s = this.checkScale('unscale');
    const state = this.perOptimizer.get(optimizer);
    if (state?.stage === 'unscaled') throw new KilnError('unscale() has already been called on this optimizer since the last update().');
    if (state?.stage === 'stepped') throw new KilnError('unscale() is being called after step().');
    // 1 / scale rounded to float32, as PyTorch's scale.double().reciprocal().float().
    const inv = f32(1 / s);
    const byDevice = new Map<string, Tensor>();
    noGrad(() => {
      for (const p of optimizer.params) {
        const g = p.grad;
        if (!g) continue;
        if (g.dtype === 'f16') throw new KilnError('Attempting to unscale FP16 gradients. (keep the parameters in float32; autocast computes in float16)');
        // Checked before dividing, as PyTorch's kernel: a finite gradient cannot turn inf by it unless the scale is below 1.
        const bad = apply('logical_or', [apply('is_nan', [g]), apply('is_inf', [g])]).type('f32').max();
        const had = byDevice.get(g.device);
        byDevice.set(g.device, had ? had.maximum(bad) : bad);
        if (inv !== 1) g.setData(g.mul(inv));
      }
    });
    this.perOptimizer.set(optimizer, { stage: 'unscaled', foundInf: [...byDevice.values()] });
  }

  /** PyTorch's name of unscale() (the gradients are changed in place). */
  unscale_(optimizer: Optimizer): void {
    this.unscale(optimizer);
  }

  /**
   * Unscales the gradients (unless unscale() did) and runs `optimizer.step()` unless one of them
   * is inf or NaN, in which case parameters and optimizer state stay as they were. Returns
   * whether the step was taken. Always await it (it reads the overflow flag back).
   */
  async step(optimizer: Optimizer): Promise<boolean> {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    this.checkScale('step');
    if (this.perOptimizer.get(optimizer)?.stage === 'stepped') throw new KilnError('step() has already been called since the last update().');
    if (!this.perOptimizer.has(optimizer)) this.unscale(optimizer);
    const state = this.perOptimizer.get(optimizer)!;
    if (!state.foundInf.length) throw new KilnError('No inf checks were recorded for this optimizer (none of its parameters has a gradient).');
    const found = await readFound(state);
    if (!found) optimizer.step();
    state.stage = 'stepped';
    return !found;
  }

  /**
   * Updates the scale: times `backoffFactor` if any gradient unscaled since the last update
   * overflowed (and the count of clean steps restarts), else after `growthInterval` clean steps
   * in a row times `growthFactor` (kept when that is not finite), as PyTorch's
   * `_amp_update_scale_`. `newScale` sets it instead. Await it before the next scale().
   */
  async update(newScale?: number): Promise<void> {
    if (!this.enabled) return;
    const s = this.checkScale('update');
    if (newScale !== undefined) {
      if (!(newScale > 0)) throw new KilnError(`update: newScale must be positive, got ${newScale}`);
      this.scaleValue = f32(newScale);
    } else {
      const states = [...this.perOptimizer.values()];
      if (!states.some((st) => st.foundInf.length)) throw new KilnError('No inf checks were recorded prior to update().');
      const found = (await Promise.all(states.map(readFound))).some((f) => f);
      [this.scaleValue, this.growthTracker] = nextScale(s, this.growthTracker, found, this);
    }
    this.perOptimizer = new Map();
  }

  /** The current scale (initScale before the first scale()), or 1 when disabled. */
  getScale(): number {
    return this.enabled ? this.scaleValue ?? f32(this.initScale) : 1;
  }

  getGrowthFactor(): number { return this.growthFactor; }
  setGrowthFactor(v: number): void { this.growthFactor = v; }
  getBackoffFactor(): number { return this.backoffFactor; }
  setBackoffFactor(v: number): void { this.backoffFactor = v; }
  getGrowthInterval(): number { return this.growthInterval; }
  setGrowthInterval(v: number): void { this.growthInterval = v; }

  /** The scale, the factors, the interval and the count of clean steps (empty when disabled). */
  stateDict(): GradScalerStateDict | Record<string, never> {
    if (!this.enabled) return {};
    const { growthFactor, backoffFactor, growthInterval, growthTracker } = this;
    return { scale: this.getScale(), growthFactor, backoffFactor, growthInterval, growthTracker };
  }

  /** Restores a state from stateDict() (nothing happens when disabled). */
  loadStateDict(dict: GradScalerStateDict | Record<string, never>): void {
    if (!this.enabled) return;
    if (!Object.keys(dict).length) throw new KilnError('The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler.');
    const d = dict as GradScalerStateDict;
    this.scaleValue = f32(d.scale);
    this.growthFactor = d.growthFactor;
    this.backoffFactor = d.backoffFactor;
    this.growthInterval = d.growthInterval;
    this.growthTracker = d.growthTracker;
  }

  /** @internal The state a compiled training step starts from (and then carries on the device). */
  compiledState(): { scale: number; growthTracker: number } {
    this.scaleValue ??= f32(this.initScale);
    return { scale: this.scaleValue, growthTracker: this.growthTracker };
  }

  /** @internal Takes back the state a compiled training step carried. */
  setCompiledState(scale: number, growthTracker: number): void {
    this.scaleValue = f32(scale);
    this.growthTracker = growthTracker;
  }

  private checkScale(what: string): number {
    if (this.scaleValue === undefined) {
      throw new KilnError(`Attempted ${what}() but the scale is not set: call scaler.scale(loss) earlier in the iteration.`);
    }
    return this.scaleValue;
  }
}

/** PyTorch's scale update rule (`_amp_update_scale_`), in float32 like its scale tensor. */
export function nextScale(
  scale: number, tracker: number, foundInf: boolean, h: { getGrowthFactor(): number; getBackoffFactor(): number; getGrowthInterval(): number },
): [scale: number, tracker: number] {
  if (foundInf) return [f32(scale * h.getBackoffFactor()), 0];
  const successful = tracker + 1;
  if (successful !== h.getGrowthInterval()) return [scale, successful];
  const grown = f32(scale * h.getGrowthFactor());
  return [Number.isFinite(grown) ? grown : scale, 0];
}

async function readFound(state: PerOptimizer): Promise<boolean> {
  if (state.found === undefined) {
    const flags = await Promise.all(state.foundInf.map(async (t) => (await t.to('cpu')).item() as number));
    state.found = flags.some((f) => f !== 0);
  }
  return state.found;
}
