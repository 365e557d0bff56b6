import type { Graph } from '../ir/graph.js';
import { MAX_FOLDED_ELEMENTS, type TensorData } from '../ir/tensor-data.js';
import { numel } from '../ir/types.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';
import { constValue } from '../ir/ops/source.js';
import { getOp } from '../ir/ops/index.js';

/** Ops never folded: sources, transfers (placement owns them), and int8 and blockwise weights (folding would store them as floats again). */
const NOT_FOLDED = new Set(['const', 'transfer', 'dequantize_int8', 'dequantize_blocks']);

/**
 * Evaluates nodes whose inputs are all constants with data, replacing them by constants
 * (e.g. the transpose of a Linear weight, shape arithmetic of imported models).
 */
export const foldConstants: Pass = {
  name: 'fold-constants',
  description: 'evaluate nodes whose inputs are all constants',
  run(g: Graph, ctx): Graph {
    const evaluate = ctx.evaluate;
    if (!evaluate) return g;
    let changed = false;
    const out = rebuild(g, (node, b) => {
      // A data-dependent extent stays a size of the run: its readers were typed with it, not with a number.
      if (NOT_FOLDED.has(node.op) || node.inputs.length === 0 || getOp(node.op).producesSize) return false;
      const ins = node.inputs.map((v) => b.get(v));
      const values = ins.map(constValue);
      if (values.some((v) => v === undefined)) return false;
      if (node.outputs.some((o) => numel(o.type.shape) > MAX_FOLDED_ELEMENTS)) return false;
      const results = evaluate(node, values as TensorData[]);
      node.outputs.forEach((o, i) => {
        const c = b.add('const', [], { value: results[i]! }, o.type.device);
        b.replace(o, c.output);
      });
      changed = true;
      return true;
    });
    return changed ? out : g;
  },
};
