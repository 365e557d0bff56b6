import type { Graph, Value } from '../ir/graph.js';
import { transposeAttrs, transposePerm } from '../ir/ops/movement.js';
import { constValue } from '../ir/ops/source.js';
import { getOp } from '../ir/ops/index.js';
import { typesEqual } from '../ir/types.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';
import { attrsOf } from '../ir/attrs.js';
import { adaptivePool2dAttrs } from '../ir/ops/pool.js';
import { intList } from '../ir/ops/conv.js';

/** Ops that only reinterpret the shape of their input. */
const isReshape = (op: string) => getOp(op).aliasesInput;


function isFilledWith(v: Value, x: number): boolean {
  const t = constValue(v);
  return t !== undefined && t.dtype !== 'f16' && Array.prototype.every.call(t.data, (e: number) => e === x);
}

/**
 * Algebraic identities: x+0, x-0, x*1, x/1 -> x (when broadcasting leaves x's type alone);
 * transpose of transpose -> one transpose (or none); reshape of reshape -> one reshape;
 * reshape to the same shape -> nothing; an adaptive average pool to 1x1 -> global_avg_pool.
 */
export const simplify: Pass = {
  name: 'simplify',
  description: 'algebraic identities: x*1, x+0, double transpose, reshape of reshape, adaptive pool to 1x1 as a global pool',
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
        case 'mul':
          if (isFilledWith(ins[1]!, 1) && sameType(ins[0]!)) return forward(ins[0]!);
          if (isFilledWith(ins[0]!, 1) && sameType(ins[1]!)) return forward(ins[1]!);
          return false;
        case 'sub':
          return isFilledWith(ins[1]!, 0) && sameType(ins[0]!) ? forward(ins[0]!) : false;
        case 'div':
          return isFilledWith(ins[1]!, 1) && sameType(ins[0]!) ? forward(ins[0]!) : false;
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
            changed = true;
            b.replace(result, b.add('reshape', [ins[0]!.producer.inputs[0]!], { shape: [...result.type.shape] }).output);
            return true;
          }
          return false;
      }
    });
    return changed ? out : g;
  },
};
