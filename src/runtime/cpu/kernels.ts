import type { Node } from '../../ir/graph.js';
import { getOp } from '../../ir/ops/index.js';
import { transposePerm } from '../../ir/ops/movement.js';
import { broadcastStrides, normalizeAxes } from '../../ir/ops/shape-util.js';
import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { allocTyped, numel, stridesOf, type TensorType } from '../../ir/types.js';
import { forEachIndex } from './indexing.js';

/** A reference kernel: computes a node's outputs from host inputs. */
export type CpuKernel = (node: Node, inputs: readonly TensorData[]) => TensorData[];

function alloc(t: TensorType): TensorData {
  return { dtype: t.dtype, shape: [...t.shape], data: allocTyped(t.dtype, numel(t.shape)) };
}

/** Elementwise with broadcasting, from the op's scalar math. */
const elementwise: CpuKernel = (node, inputs) => {
  const math = getOp(node.op).spec.math!;
  const out = alloc(node.output.type);
  const strides = inputs.map((x) => broadcastStrides(x.shape, out.shape));
  const args = new Array<number>(inputs.length);
  forEachIndex(out.shape, strides, (i, offs) => {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k]!.data[offs[k]!]!;
    out.data[i] = math.cpu(args, out.dtype);
  });
  return [out];
};

/** Reductions over any axes, accumulating in double precision. */
const reduction: CpuKernel = (node, [x]) => {
  const red = getOp(node.op).spec.reduce!;
  const out = alloc(node.output.type);
  const rank = x!.shape.length;
  const axes = (node.attrs.axes as number[]).length ? normalizeAxes(node.attrs.axes as number[], rank) : x!.shape.map((_, i) => i);
  const kept = x!.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const strides = stridesOf(x!.shape);
  const keptShape = kept.map((i) => x!.shape[i]!);
  const redShape = axes.map((i) => x!.shape[i]!);
  const count = numel(redShape);
  const inner: number[] = [];
  forEachIndex(redShape, [axes.map((i) => strides[i]!)], (_, [o]) => inner.push(o!));
  forEachIndex(keptShape, [kept.map((i) => strides[i]!)], (i, [base]) => {
    let acc = red.init;
    for (const o of inner) acc = red.cpu(acc, x!.data[base! + o]!);
    out.data[i] = red.finish ? red.finish.cpu(acc, count) : acc;
  });
  return [out];
};

const matmul: CpuKernel = (node, [a, b]) => {
  const out = alloc(node.output.type);
  const [m, k] = a!.shape.slice(-2) as [number, number];
  const n = b!.shape.at(-1)!;
  const batchShape = out.shape.slice(0, -2);
  const aBatch = broadcastStrides(a!.shape.slice(0, -2).map((d) => d), batchShape).map((s) => s * m * k);
  const bBatch = broadcastStrides(b!.shape.slice(0, -2), batchShape).map((s) => s * k * n);
  forEachIndex(batchShape, [aBatch, bBatch], (bi, [ao, bo]) => {
    const oo = bi * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += a!.data[ao! + i * k + p]! * b!.data[bo! + p * n + j]!;
        out.data[oo + i * n + j] = acc;
      }
    }
  });
  return [out];
};

const transpose: CpuKernel = (node, [x]) => {
  const out = alloc(node.output.type);
  const perm = transposePerm(x!.shape.length, node.attrs.perm as number[]);
  const s = stridesOf(x!.shape);
  forEachIndex(out.shape, [perm.map((p) => s[p]!)], (i, [o]) => { out.data[i] = x!.data[o!]!; });
  return [out];
};

const reshape: CpuKernel = (node, [x]) => [{ ...x!, shape: [...node.output.type.shape] }];

const constant: CpuKernel = (node) => {
  const v = node.attrs.value as TensorData | undefined;
  if (!v) throw new KilnError(`const %${node.output.name} (ref "${String(node.attrs.ref)}") has no data: supply its weights`);
  return [v];
};

const identity: CpuKernel = (_, [x]) => [x!];

const byName: Record<string, CpuKernel> = { matmul, transpose, reshape, const: constant, transfer: identity };

/** The reference kernel of an op: by name, else by its fusion kind. */
export function cpuKernelFor(op: string): CpuKernel {
  const k = byName[op];
  if (k) return k;
  const def = getOp(op);
  if (def.spec.math) return elementwise;
  if (def.spec.reduce) return reduction;
  throw new KilnError(`op ${op} has no CPU kernel`);
}
