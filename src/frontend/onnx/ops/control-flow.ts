// If with a condition known at import (typical of scripted exports whose branches test shapes):
// the taken branch is imported in place. Data-dependent control flow is not supported.
import { defineOnnxOp } from '../node.js';

defineOnnxOp('If', (n) => {
  const cond = n.values(0, 'condition');
  if (cond.length !== 1) n.fail(`its condition must hold one element, got ${cond.length}`);
  const key = cond[0] !== 0 ? 'then_branch' : 'else_branch';
  const branch = n.attrs.graph(key);
  if (!branch) return n.fail(`has no ${key}`);
  return n.importSubgraph(branch);
});
