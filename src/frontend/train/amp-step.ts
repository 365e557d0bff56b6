import type { Graph, Value } from '../../ir/graph.js';
import type { GradScaler } from '../torch/amp/grad-scaler.js';
import type { UpdateBuilder } from '../torch/optim.js';

// GradScaler inside a compiled training step: the scale and the count of clean steps are state
// of the step's Program, the loss is scaled before differentiation, and the gradients are
// unscaled and checked on the device. A step whose gradients hold an inf or NaN keeps every
// parameter, optimizer state and the step counter as they were (each update becomes a `where`),
// and the scale follows GradScaler.update()'s rule, all without a readback.

export const SCALE = 'state.amp.scale';
export const GROWTH_TRACKER = 'state.amp.growth_tracker';
export const FOUND_INF = 'amp_found_inf';

/** Adds the scaler's state inputs to `g` and returns the loss times the scale (in float32). */
export function scaledLoss(g: Graph, loss: Value): Value {
  const scalar = { dtype: 'f32', shape: [], device: 'webgpu' } as const;
  const scale = g.addInput(SCALE, scalar);
  g.addInput(GROWTH_TRACKER, scalar);
  const wide = loss.type.dtype === 'f32' ? loss : g.addNode('cast', [loss], { to: 'f32' }).output;
  return g.addNode('mul', [g.addNode('reshape', [wide], { shape: [] }).output, scale]).output;
}

/** What the scaler adds to a step: which updates to guard, and its own state updates. */
export interface ScalerStep {
  /** 1 when a gradient was inf or NaN, else 0 (a float32 scalar). */
  readonly found: Value;
  /** `next`, or `old` when the step is skipped. */
  guard(old: Value, next: Value): Value;
  /** The scale's and the growth tracker's new values, by state input. */
  readonly updates: readonly { input: string; value: Value }[];
}

/**
 * Divides each gradient in `grads` (in place in the map) by the scale, after noting whether any
 * was inf or NaN (checked before dividing, as PyTorch's unscale), and emits the scale update of
 * `scaler`'s factors and interval. 1 / scale is a float32 division on the device, exact for the
 * powers of two that the default factors keep the scale at.
 */
export function unscaleGradients<K>(b: UpdateBuilder, byName: ReadonlyMap<string, Value>, grads: Map<K, Value>, scaler: GradScaler): ScalerStep {
  const scale = byName.get(SCALE)!;
  const tracker = byName.get(GROWTH_TRACKER)!;
  const g = b.graph;
  const nonFinite = (v: Value): Value => b.op('logical_or', b.op('is_nan', v), b.op('is_inf', v));
  const flags = [...grads.values()].map((v) => b.op('max', g.addNode('cast', [nonFinite(v)], { to: 'f32' }).output));
  const found = flags.reduce((x, y) => b.op('maximum', x, y));
  const skip = b.op('greater', found, b.scalar(0, found));
  const inv = b.div(b.scalar(1, scale), scale);
  for (const [k, v] of grads) grads.set(k, b.mul(v, b.like(inv, v)));
  const where = (c: Value, x: Value, y: Value) => g.addNode('where', [c, x, y]).output;
  // _amp_update_scale_: back off on overflow; grow after growthInterval clean steps (if still finite).
  const clean = b.add(tracker, b.scalar(1, tracker));
  const grows = b.op('equal', clean, b.scalar(scaler.getGrowthInterval(), clean));
  const grown = b.scale(scale, scaler.getGrowthFactor());
  const grownOk = where(nonFinite(grown), scale, grown);
  const zero = b.scalar(0, tracker);
  return {
    found,
    guard: (old, next) => where(skip, old, next),
    updates: [
      { input: SCALE, value: where(skip, b.scale(scale, scaler.getBackoffFactor()), where(grows, grownOk, scale)) },
      { input: GROWTH_TRACKER, value: where(skip, zero, where(grows, zero, clean)) },
    ],
  };
}
