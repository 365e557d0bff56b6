// One-kernel graphs that pose the problem a kernel signature names, for the tuner to time each
// variant on (see tune.ts). A signature is what a lowering hands the chooser; each parser here
// reads the format its lowering writes (matmulSignature, convSignature, resizeSignature, the
// concat lowering's, rowVariant's, attentionSignature), and a signature of sizes that vary has
// no micro graph (it is not timed).
import { Graph, type Value } from '../ir/graph.js';
import type { DType } from '../ir/types.js';
import { tensorData } from '../ir/tensor-data.js';
import type { Attrs } from '../ir/attrs.js';
import { getOp } from '../ir/ops/index.js';

/** A one-kernel matmul graph for a signature `dtype:BxMxKxN` (see matmulSignature). */
function matmulGraph(signature: string): Graph | undefined {
  const m = /^(\w+):(\d+)x(\d+)x(\d+)x(\d+)$/.exec(signature);
  if (!m) return undefined;
  const [dtype, batch, rows, inner, cols] = [m[1] as DType, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
  const g = new Graph('tune_matmul');
  const a = g.addInput('a', { dtype, shape: [batch, rows, inner], device: 'webgpu' });
  const b = g.addInput('b', { dtype, shape: [batch, inner, cols], device: 'webgpu' });
  g.setOutputs([g.addNode('matmul', [a, b]).output]);
  return g;
}

/** The numbers of a conv signature `dtype:NxCxHxW->OxOHxOW:kKHxKW:sSHxSW:dDHxDW:pT,L,B,R[:gG]` (see convSignature). */
function convNumbers(signature: string) {
  const m = /^(\w+):(\d+)x(\d+)x(\d+)x(\d+)->(\d+)x(\d+)x(\d+):k(\d+)x(\d+):s(\d+)x(\d+):d(\d+)x(\d+):p(\d+),(\d+),(\d+),(\d+)(?::g(\d+))?$/.exec(signature);
  if (!m) return undefined;
  const [n, c, h, w, o, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups = 1] = m.slice(2).filter((s) => s !== undefined).map(Number) as number[];
  return { dtype: m[1] as DType, n: n!, c: c!, h: h!, w: w!, o: o!, oh: oh!, ow: ow!, kh: kh!, kw: kw!, sh: sh!, sw: sw!, dh: dh!, dw: dw!, pads: [pt!, pl!, pb!, pr!], groups };
}

/** A conv2d problem as its signature gives it. */
function convProblem(signature: string) {
  const s = convNumbers(signature);
  if (!s) return undefined;
  return {
    dtype: s.dtype, x: [s.n, s.c, s.h, s.w], w: [s.o, s.c / s.groups, s.kh, s.kw],
    attrs: { stride: [s.sh, s.sw], dilation: [s.dh, s.dw], padding: s.pads, groups: s.groups },
  };
}

/** A conv2d of `problem` on `x` in `g`, its weight a new input named `weight`. */
function addConv(g: Graph, x: Value, problem: NonNullable<ReturnType<typeof convProblem>>, weight: string): Value {
  const w = g.addInput(weight, { dtype: problem.dtype, shape: problem.w, device: 'webgpu' });
  return g.addNode('conv2d', [x, w], problem.attrs).output;
}

/** A one-kernel conv2d graph for a signature (see convSignature). */
function convGraph(signature: string): Graph | undefined {
  const p = convProblem(signature);
  if (!p) return undefined;
  const g = new Graph('tune_conv');
  g.setOutputs([addConv(g, g.addInput('x', { dtype: p.dtype, shape: p.x, device: 'webgpu' }), p, 'w')]);
  return g;
}

/**
 * A pair of convolutions (a depthwise one in front when there are three) as the one fused node
 * fuse-pointwise-pairs makes of them, for a signature of their conv signatures joined by `+`
 * (see pointwisePairKernel): `pair` times its kernel, `separate` the members' own.
 */
function convPairGraph(signature: string): Graph | undefined {
  const problems = signature.split('+').map(convProblem);
  if (problems.length < 2 || problems.length > 3 || problems.some((p) => !p)) return undefined;
  const body = new Graph('tune_conv_pair');
  let x = body.addInput('x', { dtype: problems[0]!.dtype, shape: problems[0]!.x, device: 'webgpu' });
  const outputs = problems.map((p, i) => (x = addConv(body, x, p!, `w${i}`)));
  body.setOutputs(outputs);
  const g = new Graph('tune_conv_pair');
  const inputs = body.inputs.map((v) => g.addInput(v.name, v.type));
  const pair = g.addNode('fused', inputs, { body, kernel: 'pointwise_pair' }, { types: outputs.map((v) => v.type), names: outputs.map((v) => v.name), device: 'webgpu' });
  g.setOutputs(pair.outputs);
  return g;
}

/**
 * A one-kernel conv_transpose2d graph for its signature (a convSignature of the transposed
 * geometry: x's channels in, the output's out; its weight [C, O / groups, KH, KW]). The output
 * padding is what the signature's output extents leave over the formula's.
 */
function convTransposeGraph(signature: string): Graph | undefined {
  const s = convNumbers(signature);
  if (!s) return undefined;
  const extra = (inSize: number, stride: number, before: number, after: number, dilation: number, k: number, out: number) =>
    out - ((inSize - 1) * stride - before - after + dilation * (k - 1) + 1);
  const attrs = {
    stride: [s.sh, s.sw], dilation: [s.dh, s.dw], padding: s.pads, groups: s.groups,
    output_padding: [extra(s.h, s.sh, s.pads[0]!, s.pads[2]!, s.dh, s.kh, s.oh), extra(s.w, s.sw, s.pads[1]!, s.pads[3]!, s.dw, s.kw, s.ow)],
  };
  const g = new Graph('tune_conv_transpose');
  const x = g.addInput('x', { dtype: s.dtype, shape: [s.n, s.c, s.h, s.w], device: 'webgpu' });
  const w = g.addInput('w', { dtype: s.dtype, shape: [s.c, s.o / s.groups, s.kh, s.kw], device: 'webgpu' });
  g.setOutputs([g.addNode('conv_transpose2d', [x, w], attrs).output]);
  return g;
}

/** A one-kernel resize graph for its signature `mode:dtype:BxHxW->OHxOW` (see resizeSignature), the leading dims as one batch. */
function resizeGraph(signature: string): Graph | undefined {
  const m = /^(\w+):(\w+):(\d+)x(\d+)x(\d+)->(\d+)x(\d+)$/.exec(signature);
  if (!m) return undefined;
  const [batch, h, w, oh, ow] = m.slice(3).map(Number) as number[];
  const g = new Graph('tune_resize');
  const x = g.addInput('x', { dtype: m[2] as DType, shape: [batch!, 1, h!, w!], device: 'webgpu' });
  g.setOutputs([g.addNode('resize', [x], { mode: m[1]!, sizes: [batch!, 1, oh!, ow!] }).output]);
  return g;
}

/**
 * A one-kernel concat graph for its signature `dtype:D0xD1x...:axisA:L0+L1+...` (the output's
 * dims, the axis, each part's extent along it; see concatSignature), its parts dense inputs.
 */
function concatGraph(signature: string): Graph | undefined {
  const m = /^(\w+):(\d+(?:x\d+)*):axis(\d+):(\d+(?:\+\d+)*)$/.exec(signature);
  if (!m) return undefined;
  const [dtype, out, axis] = [m[1] as DType, m[2]!.split('x').map(Number), Number(m[3])];
  const g = new Graph('tune_concat');
  const parts = m[4]!.split('+').map((len, k) => g.addInput(`x${k}`, { dtype, shape: out.map((d, i) => (i === axis ? Number(len) : d)), device: 'webgpu' }));
  g.setOutputs([g.addNode('concat', parts, { axis }).output]);
  return g;
}

/**
 * A one-kernel graph for a reduction or row kernel's signature `OP:dtype:OUTPUTSxCOUNT` (see
 * rowVariant): OP over the rows of an [OUTPUTS, COUNT] input (layer_norm without its weights).
 */
function rowsGraph(signature: string): Graph | undefined {
  const m = /^(\w+):(\w+):(\d+)x(\d+)$/.exec(signature);
  if (!m) return undefined;
  const op = m[1]!;
  const g = new Graph(`tune_${op}`);
  const x = g.addInput('x', { dtype: m[2] as DType, shape: [Number(m[3]), Number(m[4])], device: 'webgpu' });
  // Ops with reduction math take axes; argmax, softmax and layer_norm one axis.
  const attrs: Attrs = getOp(op).spec.reduce ? { axes: [1] } : { axis: -1 };
  g.setOutputs([g.addNode(op, [x], attrs).output]);
  return g;
}

/**
 * The fused attention of a signature `dtype:B0xB1:LQ:SK:EE:VEv` (batch dims, queries, keys, query
 * and value widths; see attentionSignature) over dense Q, K and V, scaled by 1/sqrt(E): its masks
 * and the views it reads through change only its indexing, which every variant shares.
 */
function attentionGraph(signature: string): Graph | undefined {
  const m = /^(\w+):(\d+(?:x\d+)*)?:L(\d+):S(\d+):E(\d+):V(\d+)$/.exec(signature);
  if (!m) return undefined;
  const dtype = m[1] as DType;
  const batch = m[2] ? m[2].split('x').map(Number) : [];
  const [L, S, E, V] = m.slice(3).map(Number) as [number, number, number, number];
  const body = new Graph('attention');
  const input = (name: string, dims: number[]) => body.addInput(name, { dtype, shape: dims, device: 'webgpu' });
  const [q, k, v, scale] = [input('q', [...batch, L, E]), input('k', [...batch, S, E]), input('v', [...batch, S, V]), input('scale', [])];
  const r = batch.length + 2;
  const kT = body.addNode('transpose', [k], { perm: [...batch.keys(), r - 1, r - 2] }).output;
  const scores = body.addNode('mul', [body.addNode('matmul', [q, kT]).output, scale]).output;
  const out = body.addNode('matmul', [body.addNode('softmax', [scores], { axis: -1 }).output, v]).output;
  body.setOutputs([out]);
  // The scale is a constant operand of the fused node, as fuse-attention leaves a graph's.
  const g = new Graph('tune_attention');
  const operands = [q, k, v].map((x) => g.addInput(x.name, x.type));
  operands.push(g.addNode('const', [], { value: tensorData(dtype, [], [1 / Math.sqrt(E)]) }, { device: 'webgpu' }).output);
  g.setOutputs([g.addNode('fused', operands, { body, kernel: 'attention' }, { types: [out.type], names: ['o'], device: 'webgpu' }).output]);
  return g;
}

/**
 * One-kernel graphs solving the same problem as a signature, per kernel family, to time variants
 * on. A Gemm is timed as the matmul of its shape: its transposes, alpha and bias change only
 * its indexing and epilogue, which every variant shares; likewise a conv's epilogue, a concat's
 * views of its parts, and a resize's coordinate mode.
 */
const MICRO_GRAPHS: Readonly<Record<string, (signature: string) => Graph | undefined>> = {
  matmul: matmulGraph, gemm: matmulGraph, conv: convGraph, conv_pair: convPairGraph,
  conv_transpose: convTransposeGraph, resize: resizeGraph, concat: concatGraph,
  reduce: rowsGraph, softmax: rowsGraph, layer_norm: rowsGraph, attention: attentionGraph,
};

/** Families whose micro graphs hold kernels of other families (a pair's members): timed once those are chosen. */
export const COMPOSITE_FAMILIES: ReadonlySet<string> = new Set(['conv_pair']);

/** The one-kernel graph posing a kernel family's problem `signature`, or undefined where none is made (sizes that vary). */
export function microGraph(family: string, signature: string): Graph | undefined {
  return MICRO_GRAPHS[family]?.(signature);
}

