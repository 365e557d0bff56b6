import type { Graph, Node, Value } from '../../ir/graph.js';
import { attrsOf } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import { anchorOf } from '../../ir/ops/fused.js';
import { softmaxAttrs } from '../../ir/ops/softmax.js';
import { maxPool2dAttrs, windowsInsidePlane } from '../../ir/ops/pool.js';
import { ONES_DROPPING_VIEWS } from '../../ir/view.js';
import { gemmAttrs } from '../../ir/ops/gemm.js';
import { dMul } from '../../ir/size-expr.js';
import { dimsOf, numel } from '../../ir/types.js';
import type { Source } from '../kernel-module.js';
import { emitClassifierHead, type ClassifierHeadSpec } from '../kernels/classifier-head.js';
import type { EmittedKernel } from '../kernels/kernel.js';
import { anchorWork } from './anchored-work.js';
import { int8Storage } from '../kernels/weight-load.js';

// A classifier's head (fuse-classifier-head): the global average pool, the fully connected layer
// (fused with its bias, or alone) and the softmax reading it, when there is one, as one kernel.

/** The head's nodes: the max pool when there is one, the pool, the fully connected layer, the softmax; or why `body` is not a head. */
function headNodes(body: Graph): { maxPool?: Node; pool: Node; fc: Node; softmax?: Node } | string {
  const maxPool = body.nodes[0]?.op === 'max_pool2d' ? body.nodes[0] : undefined;
  const pool = body.nodes[maxPool ? 1 : 0];
  const last = body.nodes.at(-1)!;
  const softmax = last?.op === 'softmax' ? last : undefined;
  const fc = softmax ? body.nodes.at(-2) : last;
  if (pool?.op !== 'global_avg_pool' || pool.inputs[0]!.type.shape.length !== 4) return 'it does not start with a global_avg_pool of an NCHW tensor (or a max_pool2d it reads)';
  if (maxPool) {
    if (pool.inputs[0] !== maxPool.output || !windowsInsidePlane(attrsOf(maxPool, maxPool2dAttrs))) return `its max_pool2d %${maxPool.output.name} must be unpadded, undilated and in floor mode, and read by the pool`;
  }
  if (!fc || !['matmul', 'gemm'].includes(anchorOf(fc)?.op ?? '')) return 'it has no matmul or gemm (fused or alone) after the pool';
  if (softmax && (softmax.inputs[0] !== fc.output || ![-1, 1].includes(attrsOf(softmax, softmaxAttrs).axis))) return `its softmax %${softmax.output.name} is not over the classes %${fc.output.name} holds`;
  if (body.outputs.length !== 1 || body.outputs[0] !== last.output) return 'its result is not its last node';
  const views = body.nodes.slice(body.nodes.indexOf(pool) + 1, body.nodes.indexOf(fc));
  if (views.some((n) => !ONES_DROPPING_VIEWS.has(n.op))) return 'only views may sit between the pool and the matmul';
  return { pool, fc, ...(maxPool ? { maxPool } : {}), ...(softmax ? { softmax } : {}) };
}

/** The pool, fully connected layer and softmax of a classifier's head in one kernel (see classifier-head.ts). */
export function lowerClassifierHead(node: Node, body: Graph): EmittedKernel {
  const fail = (why: string): never => {
    throw new KilnError(`fused node %${node.output.name}: its body is not the classifier head its kernel 'classifier_head' computes: ${why}`);
  };
  const nodes = headNodes(body);
  if (typeof nodes === 'string') return fail(nodes);
  const { maxPool, pool, fc, softmax } = nodes;
  const { anchor, io } = anchorWork(fc);
  // The layer's sources are its own operands; the kernel binds the head's.
  const param = (v: Value): Source => {
    const k = body.inputs.indexOf(v);
    return k >= 0 ? k : fail(`%${fc.output.name} reads %${v.name} besides the pooled means, which is not an operand of the head`);
  };
  const own = (s: Source): Source => param(fc.inputs[s as number]!);
  const w = io.operands[1]!;
  if ((w.read !== 'plain' && w.read !== 'dequantize') || w.view) fail(`its matmul reads its weight as a '${w.read}' read${w.view ? ' through a view' : ''}`);
  const gemm = anchor.op === 'gemm' ? attrsOf(anchor, gemmAttrs) : undefined;
  if (gemm?.trans_a) fail('its gemm transposes the pooled means');
  const weightByClass = gemm?.trans_b === true;
  const [C, K] = (weightByClass ? anchor.inputs[1]!.type.shape.slice().reverse() : anchor.inputs[1]!.type.shape) as [number, number];
  const bias = io.operands[2];
  if (bias && numel(anchor.inputs[2]!.type.shape) !== K) fail(`its gemm's bias %${anchor.inputs[2]!.name} is not a row of ${K}`);
  const x = (maxPool ?? pool).inputs[0]!;
  const dims = dimsOf(x.type);
  if (dims[1] !== C) fail(`its pool has ${String(dims[1])} channels, its weight ${C} rows`);
  const epilogue = io.epilogue ? { ...io.epilogue, operands: io.epilogue.operands.map((o) => ({ ...o, source: own(o.source) })) } : undefined;
  return emitClassifierHead({
    name: body.name, dtype: x.type.dtype, logitDType: fc.output.type.dtype, outDType: node.output.type.dtype,
    batch: dims[0]!, channels: C, classes: K, spatial: dMul(dims[2]!, dims[3]!), weightByClass, softmax: softmax !== undefined,
    ...(gemm ? { gemm: { alpha: gemm.alpha, ...(bias ? { bias: { source: own(bias.source), beta: gemm.beta } } : {}) } } : {}),
    ...(epilogue ? { epilogue } : {}),
    ...(maxPool ? { maxPool: maxPoolWindow(maxPool) } : {}),
    sources: {
      x: param(x), w: own(w.source), out: node.inputs.length,
      ...(w.int8 ? { wInt8: int8Storage({ int8: { ...w.int8, source: own(w.int8.source) } })! } : {}),
    },
  });
}

/** The max pool's window and strides, and the extents its means loop over. */
function maxPoolWindow(p: Node): NonNullable<ClassifierHeadSpec['maxPool']> {
  const a = attrsOf(p, maxPool2dAttrs);
  const [kh, kw] = a.kernel_size as [number, number];
  const [sh, sw] = (a.stride ?? a.kernel_size) as [number, number];
  const [out, x] = [dimsOf(p.output.type), dimsOf(p.inputs[0]!.type)];
  return { kernel: [kh, kw], stride: [sh, sw], inW: x[3]!, outH: out[2]!, outW: out[3]! };
}
