// ai.onnx.ml TreeEnsemble: each row of X walks every tree from its root, comparing one feature
// with a node's split until it reaches a leaf, whose weight adds to (or bounds) one target.
// Which nodes a row visits depends on its data: a CPU op.
import type { AttrsOf } from '../attrs.js';
import { OpTypeError } from '../errors.js';
import { formatShapeType } from '../types.js';
import { defineOp } from './registry.js';

/** How a node compares feature x with its split s (ONNX's nodes_modes, in order). */
export const TREE_MODES = ['leq', 'lt', 'gte', 'gt', 'eq', 'neq', 'member'] as const;

/** How the leaves' weights for one target combine (ONNX's aggregate_function, in order). */
export const TREE_AGGREGATES = ['average', 'sum', 'min', 'max'] as const;

/** tree_ensemble's attributes: ONNX's, with each member node's set as a slice of `member_values`. */
export const treeEnsembleAttrs = {
  aggregate: { kind: 'string', default: 'sum' },
  n_targets: { kind: 'int' },
  tree_roots: { kind: 'ints' },
  nodes_featureids: { kind: 'ints' },
  /** Indices into TREE_MODES. */
  nodes_modes: { kind: 'ints' },
  nodes_splits: { kind: 'floats' },
  nodes_truenodeids: { kind: 'ints' },
  /** 1 where the true branch is a leaf index, 0 where it is a node index. */
  nodes_trueleafs: { kind: 'ints' },
  nodes_falsenodeids: { kind: 'ints' },
  nodes_falseleafs: { kind: 'ints' },
  /** 1 where a NaN feature takes the true branch (else every comparison with NaN decides). */
  nodes_missing_value_tracks_true: { kind: 'ints', default: [] },
  /** Per node, where its set starts in member_values (its end is the next node's start). */
  member_starts: { kind: 'ints', default: [] },
  member_values: { kind: 'floats', default: [] },
  leaf_targetids: { kind: 'ints' },
  leaf_weights: { kind: 'floats' },
} as const;

export type TreeEnsembleAttrs = AttrsOf<typeof treeEnsembleAttrs>;

function check(a: TreeEnsembleAttrs): void {
  const nodes = a.nodes_featureids.length;
  const perNode = ['nodes_modes', 'nodes_splits', 'nodes_truenodeids', 'nodes_trueleafs', 'nodes_falsenodeids', 'nodes_falseleafs'] as const;
  for (const k of perNode) if (a[k].length !== nodes) throw new OpTypeError(`${k} has ${a[k].length} entries for ${nodes} nodes`);
  for (const k of ['nodes_missing_value_tracks_true', 'member_starts'] as const) {
    if (a[k].length !== 0 && a[k].length !== nodes) throw new OpTypeError(`${k} has ${a[k].length} entries for ${nodes} nodes`);
  }
  const leaves = a.leaf_weights.length;
  if (a.leaf_targetids.length !== leaves) throw new OpTypeError(`leaf_targetids has ${a.leaf_targetids.length} entries for ${leaves} leaves`);
  if (!(TREE_AGGREGATES as readonly string[]).includes(a.aggregate)) throw new OpTypeError(`aggregate '${a.aggregate}' is not one of ${TREE_AGGREGATES.join(', ')}`);
  if (a.nodes_modes.some((m) => !TREE_MODES[m])) throw new OpTypeError(`nodes_modes holds a mode outside 0..${TREE_MODES.length - 1}`);
  if (a.leaf_targetids.some((t) => t < 0 || t >= a.n_targets)) throw new OpTypeError(`leaf_targetids holds a target outside 0..${a.n_targets - 1}`);
  const ids = (k: 'nodes_truenodeids' | 'nodes_falsenodeids', leaf: 'nodes_trueleafs' | 'nodes_falseleafs') =>
    a[k].every((id, i) => id >= 0 && id < (a[leaf][i] ? leaves : nodes));
  if (!ids('nodes_truenodeids', 'nodes_trueleafs') || !ids('nodes_falsenodeids', 'nodes_falseleafs')) throw new OpTypeError('a branch points past the nodes or leaves');
  if (a.tree_roots.length === 0 || a.tree_roots.some((r) => r < 0 || r >= nodes)) throw new OpTypeError('tree_roots must name nodes');
}

/** tree_ensemble(X [N, F] f32) -> f32 [N, n_targets]. */
defineOp({
  name: 'tree_ensemble', kind: 'opaque', inputs: 1,
  attrs: treeEnsembleAttrs,
  infer: ([x], attrs) => {
    if (x!.dtype !== 'f32' || x!.shape.length !== 2) throw new OpTypeError(`takes f32 features [N, F], got ${formatShapeType(x!.dtype, x!.shape)}`);
    check(attrs);
    const features = x!.shape[1]!;
    if (typeof features === 'number' && attrs.nodes_featureids.some((f) => f < 0 || f >= features)) throw new OpTypeError(`nodes_featureids holds a feature outside 0..${features - 1}`);
    return [{ dtype: 'f32', shape: [x!.shape[0]!, attrs.n_targets] }];
  },
});
