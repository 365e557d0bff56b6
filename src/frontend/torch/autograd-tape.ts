import type { Attrs } from '../../ir/attrs.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { isFloat, numel } from '../../ir/types.js';
import type { Tensor } from './tensor.js';

// The autograd tape: eager ops on tensors that require gradients record themselves here (the op,
// its attributes, its operands). backward() (autograd.ts) turns the recorded sub-computation into
// a graph and differentiates it. This file imports Tensor only as a type, so tensor.ts can call
// recordOp without an import cycle.

/** An operand as the tape keeps it: a tensor, or the values of a small constant (a number operand). */
export type TapeInput = { readonly kind: 'tensor'; readonly tensor: Tensor } | { readonly kind: 'const'; readonly data: TensorData };

/**
 * The op a recorded move between devices is (`t.to('webgpu:1')`, `t.to('cpu')`): as in the IR, a
 * `transfer`. backward() does not differentiate it in a graph: it moves the gradient back.
 */
export const MOVE_OP = 'transfer';

/** One recorded eager op. */
export interface TapeNode {
  /** Recording order: a node's operands were all recorded before it. */
  readonly id: number;
  readonly op: string;
  readonly attrs: Attrs;
  inputs: TapeInput[];
  outputs: Tensor[];
  /** Set once backward() has freed what the node held (without retainGraph). */
  released: boolean;
}

/** Where a non-leaf tensor comes from: result `index` of a recorded op. */
export interface GradFn {
  readonly node: TapeNode;
  readonly index: number;
}

/** Whether ops record onto the tape (off inside noGrad). */
const mode = { enabled: true };
/** noGrad calls whose promises have not settled, and the setting the first of them found. */
let openAsyncScopes = 0;
let enabledBeforeAsync = true;
let nextId = 0;

/** Constants up to this many elements are kept by value, so a scalar operand may be freed after its op. */
const MAX_SAVED_CONST = 16;

/** Whether autograd records operations now (false inside `noGrad`). */
export function isGradEnabled(): boolean {
  return mode.enabled;
}

/** Turns recording on or off; returns the previous setting. */
export function setGradEnabled(enabled: boolean): boolean {
  const was = mode.enabled;
  mode.enabled = enabled;
  return was;
}

/**
 * Runs `fn` without recording operations for autograd, like `torch.no_grad()`. When `fn` returns a
 * promise, recording stays off until it settles (for everything running meanwhile, too).
 */
export function noGrad<T>(fn: () => T): T {
  const was = setGradEnabled(false);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    setGradEnabled(was);
    throw e;
  }
  if (result instanceof Promise) {
    // Overlapping async scopes restore once, when the last settles, to what the first found:
    // each restoring its own would leave recording off when they settle out of order.
    if (openAsyncScopes++ === 0) enabledBeforeAsync = was;
    return result.finally(() => {
      if (--openAsyncScopes === 0) setGradEnabled(enabledBeforeAsync);
    }) as T;
  }
  setGradEnabled(was);
  return result;
}

/**
 * Records an eager op whose operands include a tensor that requires gradients: its float results
 * then require gradients too and point back to the record. Returns `outs`.
 */
export function recordOp(op: string, inputs: readonly Tensor[], attrs: Attrs, outs: Tensor[]): Tensor[] {
  if (!mode.enabled || !inputs.some((t) => t.requiresGrad)) return outs;
  if (!outs.some((t) => isFloat(t.dtype))) return outs;
  const saved: TapeInput[] = inputs.map((t) => {
    if (t.requiresGrad) return { kind: 'tensor', tensor: t };
    const data = numel(t.shape) <= MAX_SAVED_CONST ? t.knownHostData() : undefined;
    return data ? { kind: 'const', data } : { kind: 'tensor', tensor: t };
  });
  const node: TapeNode = { id: nextId++, op, attrs, inputs: saved, outputs: outs, released: false };
  outs.forEach((t, index) => {
    if (isFloat(t.dtype)) t.attachGradFn({ node, index });
  });
  return outs;
}

/**
 * Records that `moved` is `source` on another device (when `source` requires gradients and
 * recording is on), so backward() moves the gradient back to `source`'s device. Returns `moved`.
 */
export function recordMove(source: Tensor, moved: Tensor): Tensor {
  if (moved === source || !mode.enabled || !source.requiresGrad) return moved;
  const node: TapeNode = { id: nextId++, op: MOVE_OP, attrs: {}, inputs: [{ kind: 'tensor', tensor: source }], outputs: [moved], released: false };
  moved.attachGradFn({ node, index: 0 });
  return moved;
}
