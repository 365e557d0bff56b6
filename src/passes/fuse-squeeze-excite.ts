import type { Graph, Node } from '../ir/graph.js';
import { getOp } from '../ir/ops/index.js';
import { isGpu } from '../ir/types.js';
import type { Pass } from './pass.js';
import { fuseChains } from './fusion-matchers.js';

/** A 1x1, stride 1, unpadded, ungrouped conv2d: a matrix-vector product on [N, C, 1, 1]. */
function isPointwise(n: Node): boolean {
  if (n.op !== 'conv2d') return false;
  const a = n.attrs;
  const w = n.inputs[1]!.type.shape;
  return w[2] === 1 && w[3] === 1 && a.groups === 1
    && (a.stride as number[]).every((s) => s === 1) && (a.padding as number[]).every((p) => p === 0)
    && n.inputs[0]!.type.shape[2] === 1 && n.inputs[0]!.type.shape[3] === 1;
}

/** A unary elementwise op with no operands but its input (relu, hardsigmoid, sigmoid, ...). */
function isUnary(n: Node): boolean {
  const spec = getOp(n.op).spec;
  return n.inputs.length === 1 && n.outputs.length === 1 && spec.math !== undefined && spec.operandStrides === undefined;
}

/**
 * Squeeze-and-excitation gates (global average pool -> 1x1 conv -> activation -> 1x1 conv ->
 * activation, as in MobileNetV3) become one fused node: one kernel computes the channel means,
 * both tiny matrix-vector products and their activations in workgroup memory, where five
 * launches of nearly empty kernels did it before.
 */
export const fuseSqueezeExcite: Pass = {
  name: 'fuse-se',
  description: 'fuse squeeze-and-excitation gates (pool, 1x1 conv, act, 1x1 conv, act) into one kernel',
  run(g: Graph): Graph {
    const onlyReader = g.onlyReaders();
    const chains = new Map<Node, Node[]>(); // last node -> the whole chain
    for (const pool of g.nodes) {
      if (pool.op !== 'global_avg_pool' || pool.inputs[0]!.type.shape.length !== 4) continue;
      const dtype = pool.output.type.dtype;
      if (dtype !== 'f32' && dtype !== 'f16') continue;
      const chain = [pool];
      let at = onlyReader(pool.output);
      let convs = 0;
      while (at && convs <= 2) {
        if (isPointwise(at) && at.inputs[0] === chain.at(-1)!.outputs[0] && convs < 2) convs++;
        else if (!(isUnary(at) && convs > 0)) break;
        chain.push(at);
        at = onlyReader(at.output);
      }
      // Trailing activations belong to the second conv; stop at the last one taken.
      const oneDType = chain.every((n) => n.inputs.every((v) => v.type.dtype === dtype));
      if (convs === 2 && oneDType && isGpu(chain.at(-1)!.output.type.device)) chains.set(chain.at(-1)!, chain);
    }
    return fuseChains(g, chains, 'squeeze_excite');
  },
};
