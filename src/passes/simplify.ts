import type { Graph, Node, Value } from '../ir/graph.js';
import { transposeAttrs, transposePerm } from '../ir/ops/movement.js';
import { constValue } from '../ir/ops/source.js';
import { getOp } from '../ir/ops/index.js';
import { dimsOf, isFloat, typesEqual } from '../ir/types.js';
import { isSymbolic } from '../ir/size-expr.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';
import { attrsOf } from '../ir/attrs.js';
import { adaptivePool2dAttrs } from '../ir/ops/pool.js';
import { intList } from '../ir/ops/conv.js';
import { reduceAttrs } from '../ir/ops/reduce.js';
import { normalizeAxes } from '../ir/ops/shape-util.js';
import { scalarConstant } from '../ir/fusion.js';

/** Ops that only reinterpret the shape of their input. */
const isReshape = (op: string) => getOp(op).aliasesInput;


function isFilledWith(v: Value, x: number): boolean {
  const t = constValue(v);
  return t !== undefined && t.dtype !== 'f16' && Array.prototype.every.call(t.data, (e: number) => e === x);
}

/** `v` = mean(x) over trailing axes with keepdims: x and the first axis averaged; else undefined. */
function trailingMean(v: Value | undefined): { x: Value; start: number } | undefined {
  const n = v?.producer;
  if (n?.op !== 'mean') return undefined;
  const { axes, keepdims } = attrsOf(n, reduceAttrs);
  const rank = n.inputs[0]!.type.shape.length;
  const averaged = (axes.length ? normalizeAxes(axes, rank) : [...Array(rank).keys()]).sort((a, b) => a - b);
  const start = rank - averaged.length;
  return keepdims && averaged.length && averaged.every((a, i) => a === start + i) ? { x: n.inputs[0]!, start } : undefined;
}

/**
 * A layer normalisation spelt out, as ONNX exports before opset 17 (and PaddlePaddle's) write it:
 * d = x - mean(x), then d / sqrt(mean(d^2) + epsilon), the means over the same trailing axes.
 * Its layer_norm's input and attributes; else undefined.
 */
function spelledLayerNorm(div: Node): { x: Value; axis: number; epsilon: number } | undefined {
  const [d, s] = div.inputs as [Value, Value];
  const sub = d.producer;
  const mean = trailingMean(sub?.op === 'sub' ? sub.inputs[1] : undefined);
  const add = s.producer?.op === 'sqrt' ? s.producer.inputs[0]!.producer : undefined;
  if (!mean || mean.x !== sub!.inputs[0] || add?.op !== 'add') return undefined;
  const [a, b] = add.inputs as [Value, Value];
  const onRight = scalarConstant(b);
  const epsilon = onRight ?? scalarConstant(a);
  const variance = trailingMean(onRight !== undefined ? a : b);
  const sq = variance?.x.producer;
  const squares = sq?.op === 'pow' ? sq.inputs[0] === d && scalarConstant(sq.inputs[1]!) === 2 : sq?.op === 'mul' && sq.inputs[0] === d && sq.inputs[1] === d;
  if (!squares || variance!.start !== mean.start || epsilon === undefined || !(epsilon >= 0 && Number.isFinite(epsilon))) return undefined;
  return isFloat(mean.x.type.dtype) && typesEqual(mean.x.type, div.output.type) ? { x: mean.x, axis: mean.start, epsilon } : undefined;
}

/** The operand of a two-input node other than `v`, when `v` is one of them. */
function otherOperand(n: Node | undefined, v: Value): Value | undefined {
  if (!n || n.inputs.length !== 2) return undefined;
  return n.inputs[0] === v ? n.inputs[1] : n.inputs[1] === v ? n.inputs[0] : undefined;
}

/** Whether `v` is a scalar constant within 1e-6 of `x`. */
const scalarNear = (v: Value | undefined, x: number): boolean => {
  const c = v === undefined ? undefined : scalarConstant(v);
  return c !== undefined && Math.abs(c - x) <= 1e-6 * Math.abs(x);
};

/** `v` = 1 + erf(x / sqrt(2)) (or erf(x * (1 / sqrt(2))) + 1): its x; else undefined. */
function onePlusErf(v: Value | undefined): Value | undefined {
  const add = v?.producer;
  if (add?.op !== 'add') return undefined;
  const [a, b] = add.inputs as [Value, Value];
  const erf = (scalarNear(b, 1) ? a : scalarNear(a, 1) ? b : undefined)?.producer;
  const scaled = erf?.op === 'erf' ? erf.inputs[0]!.producer : undefined;
  if (scaled?.op === 'div' && scalarNear(scaled.inputs[1], Math.SQRT2)) return scaled.inputs[0];
  if (scaled?.op !== 'mul') return undefined;
  const [p, q] = scaled.inputs as [Value, Value];
  return scalarNear(q, Math.SQRT1_2) ? p : scalarNear(p, Math.SQRT1_2) ? q : undefined;
}

/**
 * A GELU spelt out, as ONNX exports before opset 20 write it: (x * (1 + erf(x / sqrt 2))) * 0.5,
 * or (x * 0.5) * (1 + erf(...)), the factors in either order. Its x; else undefined.
 */
function spelledGelu(mul: Node): Value | undefined {
  for (const [p, q] of [mul.inputs, [...mul.inputs].reverse()] as [Value, Value][]) {
    // (x * (1 + erf)) * 0.5
    if (scalarNear(q, 0.5) && p.producer?.op === 'mul') {
      for (const x of p.producer.inputs) if (onePlusErf(otherOperand(p.producer, x)) === x) return x;
    }
    // (x * 0.5) * (1 + erf)
    const x = onePlusErf(q);
    if (x && p.producer?.op === 'mul' && scalarNear(otherOperand(p.producer, x), 0.5)) return x;
  }
  return undefined;
}

/**
 * Algebraic identities: x+0, x-0, x*1, x/1 -> x (when broadcasting leaves x's type alone);
 * transpose of transpose -> one transpose (or none); reshape of reshape -> one reshape;
 * reshape to the same shape -> nothing; an adaptive average pool to 1x1 -> global_avg_pool; a
 * layer normalisation spelt out in means, a power and a square root -> layer_norm (one kernel,
 * with the scale and shift after it as its epilogue, where it took five); a GELU spelt out in
 * erf, products and a sum -> gelu (x read twice kept the spelt-out form out of the epilogue of
 * the matmul before it).
 */
export const simplify: Pass = {
  name: 'simplify',
  description: 'algebraic identities: x*1, x+0, double transpose, reshape of reshape, adaptive pool to 1x1 as a global pool, a spelt-out layer norm as layer_norm and GELU as gelu',
  run(g: Graph): Graph {
    let changed = false;
    const out = rebuild(g, (node, b) => {
      const ins = node.inputs.map((v) => b.get(v));
      const result = node.outputs[0]!;
      const forward = (v: Value) => { b.replace(result, v); changed = true; return true; };
      const sameType = (v: Value) => typesEqual(v.type, result.type);
      switch (node.op) {
        case 'add':
          if (isFilledWith(ins[1]!, 0) && sameType(ins[0]!)) return forward(ins[0]!);
          if (isFilledWith(ins[0]!, 0) && sameType(ins[1]!)) return forward(ins[1]!);
          return false;
        case 'mul': {
          if (isFilledWith(ins[1]!, 1) && sameType(ins[0]!)) return forward(ins[0]!);
          if (isFilledWith(ins[0]!, 1) && sameType(ins[1]!)) return forward(ins[1]!);
          const x = spelledGelu(node);
          if (!x || !isFloat(x.type.dtype) || !typesEqual(x.type, result.type)) return false;
          changed = true;
          b.replace(result, b.add('gelu', [b.get(x)], { approximate: 'none' }).output);
          return true;
        }
        case 'sub':
          return isFilledWith(ins[1]!, 0) && sameType(ins[0]!) ? forward(ins[0]!) : false;
        case 'div': {
          if (isFilledWith(ins[1]!, 1) && sameType(ins[0]!)) return forward(ins[0]!);
          const norm = spelledLayerNorm(node);
          if (!norm) return false;
          changed = true;
          b.replace(result, b.add('layer_norm', [b.get(norm.x)], { axis: norm.axis, epsilon: norm.epsilon }).output);
          return true;
        }
        case 'transpose': {
          const x = ins[0]!;
          const perm = transposePerm(x.type.shape.length, attrsOf(node, transposeAttrs).perm);
          if (x.producer?.op === 'transpose') {
            const inner = x.producer.inputs[0]!;
            const p1 = transposePerm(inner.type.shape.length, attrsOf(x.producer, transposeAttrs).perm);
            const composed = perm.map((p) => p1[p]!);
            if (composed.every((p, i) => p === i)) return forward(inner);
            changed = true;
            b.replace(result, b.add('transpose', [inner], { perm: composed }).output);
            return true;
          }
          return perm.every((p, i) => p === i) ? forward(x) : false;
        }
        case 'adaptive_avg_pool2d': {
          // One bin a plane is the plane's mean (PyTorch's AdaptiveAvgPool2d(1)): global_avg_pool,
          // which fuse-se and fuse-classifier-head take.
          const size = intList(attrsOf(node, adaptivePool2dAttrs).output_size, 'output_size', 2, 1, '[oh, ow]');
          if (!size.every((s) => s === 1)) return false;
          changed = true;
          b.replace(result, b.add('global_avg_pool', [ins[0]!], {}).output);
          return true;
        }
        default:
          if (!isReshape(node.op)) return false;
          if (sameType(ins[0]!)) return forward(ins[0]!);
          if (ins[0]!.producer && isReshape(ins[0]!.producer.op)) {
            // One reshape to the result's extents; one that varies from run to run is its -1,
            // and a result with several such extents keeps its two reshapes.
            const dims = dimsOf(result.type);
            if (dims.filter(isSymbolic).length > 1) return false;
            changed = true;
            b.replace(result, b.add('reshape', [ins[0]!.producer.inputs[0]!], { shape: dims.map((d) => (isSymbolic(d) ? -1 : d)) }).output);
            return true;
          }
          return false;
      }
    });
    return changed ? out : g;
  },
};
