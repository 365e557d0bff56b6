import type { Graph, Node } from '../ir/graph.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';

/** Removes nodes none of whose outputs reach a graph output. */
export const deadCodeElimination: Pass = {
  name: 'dce',
  description: 'remove nodes whose results are never used',
  run(g: Graph): Graph {
    const live = new Set<Node>();
    const needed = new Set(g.outputs);
    for (let i = g.nodes.length - 1; i >= 0; i--) {
      const n = g.nodes[i]!;
      if (n.outputs.some((o) => needed.has(o))) {
        live.add(n);
        for (const v of n.inputs) needed.add(v);
      }
    }
    if (live.size === g.nodes.length) return g;
    return rebuild(g, (n) => !live.has(n));
  },
};
