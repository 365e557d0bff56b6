// Scans and selections along an axis: CumSum, CumProd (opset 26) and TopK, on kiln's cumsum,
// cumprod and top_k (CPU reference kernels).
import { isConst, typeOf } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';

/**
 * The scan axis, an input tensor. It decides which elements fold together, so it must be known
 * at import, except for a 1-D input, where every valid axis means axis 0.
 */
function scanAxis(n: OnnxNode): number {
  const rank = typeOf(n.input(0)).shape.length;
  const axis = n.input(1);
  if (rank === 1 && !isConst(axis)) return 0;
  const values = n.values(1, 'axis');
  if (values.length !== 1) n.fail(`axis must hold one value, got ${values.length}`);
  return values[0]!;
}

for (const [opType, op] of [['CumSum', 'cumsum'], ['CumProd', 'cumprod']] as const) {
  defineOnnxOp(opType, (n) => n.b.op(op, [n.input(0)], {
    axis: scanAxis(n), exclusive: n.attrs.int('exclusive', 0) !== 0, reverse: n.attrs.int('reverse', 0) !== 0,
  }));
}

// TopK: k is an attribute before opset 10, then an input; it is the extent of the outputs'
// axis, so it must be known at import. `largest` came in opset 11; outputs are always sorted
// (sorted=0 leaves the order to the implementation).
defineOnnxOp('TopK', (n) => {
  let k = n.attrs.int('k');
  if (n.opset >= 10) {
    const ks = n.values(1, 'k (the extent of the outputs along the axis)');
    if (ks.length !== 1) n.fail(`k must hold one value, got ${ks.length}`);
    k = ks[0];
  }
  if (k === undefined) return n.fail("needs the attribute 'k'");
  return n.b.ops('top_k', [n.input(0)], { axis: n.attrs.int('axis', -1), k, largest: n.attrs.int('largest', 1) !== 0 });
});
