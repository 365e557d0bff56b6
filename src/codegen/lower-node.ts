import type { Node } from '../ir/graph.js';
import { getOp } from '../ir/ops/index.js';
import { transposePerm } from '../ir/ops/movement.js';
import { broadcastStrides, normalizeAxes } from '../ir/ops/shape-util.js';
import { KilnError } from '../ir/errors.js';
import { stridesOf, type Shape } from '../ir/types.js';
import { emitElementwise } from './kernels/elementwise.js';
import type { EmittedKernel } from './kernels/kernel.js';
import { emitMatmul } from './kernels/matmul.js';
import { emitReduce } from './kernels/reduce.js';
import { wgslType } from './wgsl.js';

/** The kernel computing one node (outputs from inputs, bindings in operand order then outputs). */
export function lowerNode(node: Node): EmittedKernel {
  const def = getOp(node.op);
  const out = node.output.type;
  if (def.spec.math) {
    const math = def.spec.math;
    const t = wgslType(out.dtype);
    return emitElementwise({
      name: node.op,
      operands: node.inputs.map((v) => ({ dtype: v.type.dtype, strides: broadcastStrides(v.type.shape, out.shape) })),
      outDType: out.dtype,
      shape: out.shape,
      body: (xs) => math.wgsl(xs, t),
    });
  }
  if (def.spec.reduce) {
    const x = node.inputs[0]!.type;
    const rank = x.shape.length;
    const axesAttr = node.attrs.axes as number[];
    const axes = axesAttr.length ? normalizeAxes(axesAttr, rank) : x.shape.map((_, i) => i);
    const strides = stridesOf(x.shape);
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const reduced = [...axes].sort((a, b) => a - b);
    return emitReduce({
      name: node.op, dtype: out.dtype, math: def.spec.reduce,
      keptShape: kept.map((i) => x.shape[i]!), keptStrides: kept.map((i) => strides[i]!),
      reducedShape: reduced.map((i) => x.shape[i]!), reducedStrides: reduced.map((i) => strides[i]!),
    });
  }
  switch (node.op) {
    case 'matmul': {
      const [a, b] = node.inputs.map((v) => v.type.shape) as [Shape, Shape];
      const [m, k] = a.slice(-2) as [number, number];
      const n = b.at(-1)!;
      const batchShape = out.shape.slice(0, -2);
      return emitMatmul({
        name: 'matmul', dtype: out.dtype, m, n, k, batchShape,
        aBatchStrides: broadcastStrides(a.slice(0, -2), batchShape).map((s) => s * m * k),
        bBatchStrides: broadcastStrides(b.slice(0, -2), batchShape).map((s) => s * k * n),
      });
    }
    case 'transpose': {
      const x = node.inputs[0]!.type;
      const perm = transposePerm(x.shape.length, node.attrs.perm as number[]);
      const s = stridesOf(x.shape);
      return emitElementwise({
        name: 'transpose', operands: [{ dtype: x.dtype, strides: perm.map((p) => s[p]!) }],
        outDType: out.dtype, shape: out.shape, body: ([v]) => v!,
      });
    }
  }
  throw new KilnError(`no WebGPU kernel for op ${node.op} (node %${node.outputs[0]?.name})`);
}
