import { isGraphAttr, type AttrValue } from '../ir/attrs.js';
import type { Graph, Value } from '../ir/graph.js';
import { isTensorData } from '../ir/tensor-data.js';
import { formatType } from '../ir/types.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';

/** A stable key for an attribute; tensors are keyed by content (small) or identity (large). */
function attrKey(v: AttrValue, ids: Map<object, number>): string {
  if (isGraphAttr(v)) {
    if (!ids.has(v)) ids.set(v, ids.size);
    return `graph#${ids.get(v)}`;
  }
  if (!isTensorData(v)) return JSON.stringify(v);
  if (v.data.length <= 64) return `${v.dtype}[${v.shape.join(',')}]${Array.from(v.data as ArrayLike<number>).join(',')}`;
  if (!ids.has(v)) ids.set(v, ids.size);
  return `tensor#${ids.get(v)}`;
}

/** Merges nodes computing the same op on the same inputs with the same attributes. */
export const commonSubexpressionElimination: Pass = {
  name: 'cse',
  description: 'merge identical computations',
  run(g: Graph): Graph {
    const seen = new Map<string, Value[]>();
    const ids = new Map<object, number>();
    let changed = false;
    const out = rebuild(g, (node, b) => {
      const inputs = node.inputs.map((v) => b.get(v));
      const attrs = Object.keys(node.attrs).sort().map((k) => `${k}=${attrKey(node.attrs[k]!, ids)}`).join(';');
      const key = `${node.op}(${inputs.map((v) => v.id).join(',')}){${attrs}}:${node.outputs.map((o) => formatType(o.type)).join(',')}`;
      const hit = seen.get(key);
      if (hit) {
        node.outputs.forEach((o, i) => b.replace(o, hit[i]!));
        changed = true;
        return true;
      }
      seen.set(key, b.copy(node).outputs);
      return true;
    });
    return changed ? out : g;
  },
};
