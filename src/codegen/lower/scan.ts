import { attrsOf } from '../../ir/attrs.js';
import type { Node } from '../../ir/graph.js';
import { scanAttrs, topKAttrs } from '../../ir/ops/scan.js';
import { normalizeAxes } from '../../ir/ops/shape-util.js';
import { dNumel } from '../../ir/size-expr.js';
import { dimsOf } from '../../ir/types.js';
import { emitScan, emitTopK, type LineLayout } from '../kernels/scan-select.js';
import type { Lowering } from './lowering.js';

/** The input of `node` viewed as lines along `axis`, its extents from the value's dims. */
function lines(node: Node, axis: number): LineLayout {
  const x = node.inputs[0]!.type;
  const a = normalizeAxes([axis], x.shape.length)[0]!;
  const dims = dimsOf(x);
  return { outer: dNumel(dims.slice(0, a)), extent: dims[a]!, inner: dNumel(dims.slice(a + 1)) };
}

const scan = (op: 'cumsum' | 'cumprod'): Lowering => (node) => {
  const { axis, exclusive, reverse } = attrsOf(node, scanAttrs);
  return emitScan({ name: op, op, dtype: node.inputs[0]!.type.dtype, exclusive, reverse, ...lines(node, axis), sources: { x: 0, out: 1 } });
};

const topK: Lowering = (node) => {
  const { axis, k, largest } = attrsOf(node, topKAttrs);
  return emitTopK({ name: 'top_k', dtype: node.inputs[0]!.type.dtype, k, largest, ...lines(node, axis), sources: { x: 0, values: 1, indices: 2 } });
};

export const scanLowerings: Record<string, Lowering> = { cumsum: scan('cumsum'), cumprod: scan('cumprod'), top_k: topK };
