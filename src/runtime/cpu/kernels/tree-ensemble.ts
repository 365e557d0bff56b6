import { attrsOf } from '../../../ir/attrs.js';
import { TREE_MODES, treeEnsembleAttrs, type TreeEnsembleAttrs } from '../../../ir/ops/tree-ensemble.js';
import { alloc, type CpuKernel } from './kernel.js';

/** Each member node's set of values (undefined for other nodes), made once per run. */
function memberSets(a: TreeEnsembleAttrs): (Set<number> | undefined)[] {
  return a.nodes_modes.map((m, i) => (TREE_MODES[m] === 'member' ? new Set(a.member_values.slice(a.member_starts[i], a.member_starts[i + 1] ?? a.member_values.length)) : undefined));
}

/** Whether node `i` sends feature value `x` down its true branch. */
function takesTrue(a: TreeEnsembleAttrs, sets: readonly (Set<number> | undefined)[], i: number, x: number): boolean {
  if (Number.isNaN(x) && a.nodes_missing_value_tracks_true[i] === 1) return true;
  const s = a.nodes_splits[i]!;
  switch (TREE_MODES[a.nodes_modes[i]!]) {
    case 'leq': return x <= s;
    case 'lt': return x < s;
    case 'gte': return x >= s;
    case 'gt': return x > s;
    case 'eq': return x === s;
    case 'neq': return x !== s;
    default: return sets[i]!.has(x);
  }
}

/** The leaf row `x` reaches in the tree rooted at node `root`. */
function leafOf(a: TreeEnsembleAttrs, sets: readonly (Set<number> | undefined)[], root: number, x: (feature: number) => number): number {
  // A root whose branches are one and the same leaf is that leaf (a tree of one leaf).
  if (a.nodes_trueleafs[root] && a.nodes_falseleafs[root] && a.nodes_truenodeids[root] === a.nodes_falsenodeids[root]) return a.nodes_truenodeids[root]!;
  let i = root;
  for (let steps = 0; steps <= a.nodes_featureids.length; steps++) {
    const t = takesTrue(a, sets, i, x(a.nodes_featureids[i]!));
    const [next, leaf] = t ? [a.nodes_truenodeids[i]!, a.nodes_trueleafs[i]] : [a.nodes_falsenodeids[i]!, a.nodes_falseleafs[i]];
    if (leaf) return next;
    i = next;
  }
  throw new Error(`tree_ensemble: the tree rooted at node ${root} has a cycle`);
}

/** Walks each row through every tree and combines the leaves' weights per target. */
const treeEnsemble: CpuKernel = (node, [x]) => {
  const a = attrsOf(node, treeEnsembleAttrs);
  const out = alloc(node.output.type);
  const [rows, features] = x!.shape as [number, number];
  const T = a.n_targets;
  const sets = memberSets(a);
  // Targets no leaf reaches keep the start value (the float's extreme for min and max).
  const start = a.aggregate === 'min' ? 3.4028234663852886e38 : a.aggregate === 'max' ? -3.4028234663852886e38 : 0;
  for (let r = 0; r < rows; r++) {
    const acc = new Float64Array(T).fill(start);
    for (const root of a.tree_roots) {
      const leaf = leafOf(a, sets, root, (f) => x!.data[r * features + f]!);
      const [t, w] = [a.leaf_targetids[leaf]!, a.leaf_weights[leaf]!];
      acc[t] = a.aggregate === 'min' ? Math.min(acc[t]!, w) : a.aggregate === 'max' ? Math.max(acc[t]!, w) : acc[t]! + w;
    }
    if (a.aggregate === 'average') for (let t = 0; t < T; t++) acc[t]! /= a.tree_roots.length;
    out.data.set(acc, r * T);
  }
  return [out];
};

export const treeEnsembleKernels: Record<string, CpuKernel> = { tree_ensemble: treeEnsemble };
