import type { Graph, Node, Value } from '../../ir/graph.js';
import { fusedAttrs } from '../../ir/ops/fused.js';
import { dequantizeBlocksAttrs, dequantizeInt8Attrs } from '../../ir/ops/quantize.js';
import { channelLayout } from '../../ir/quantize-int8.js';
import { attrsOf } from '../../ir/attrs.js';
import { KilnError } from '../../ir/errors.js';
import { scalarConstant, parseReads, type OperandRead } from '../../ir/fusion.js';
import { getOp } from '../../ir/ops/index.js';
import { broadcastStrides } from '../../ir/ops/shape-util.js';
import { traceView } from '../../ir/view.js';
import { dimsOf } from '../../ir/types.js';
import { dimsAgree } from '../../ir/symbolic-shapes.js';
import type { Epilogue } from '../kernels/epilogue.js';
import { wgslType } from '../wgsl.js';
import { ANCHORS } from './anchors.js';
import { bodyFunction } from './body-function.js';
import { plainIO, type Anchor, type AnchorIO, type AnchorOperand, type Bound } from './lowering.js';
import type { Source } from '../kernel-module.js';

// What an anchored fused node asks of its anchor's kernel, from what fusion recorded on it (see
// ir/ops/fused.ts): each operand's read resolved in the body, and the nodes after the anchor as
// its epilogue. Nothing is rediscovered from op names; a body that does not match its record (a
// hand-edited IR dump) is refused, naming the node.

/** The body nodes `v` depends on, in body order. */
function ancestors(body: Graph, v: Value): Node[] {
  const need = new Set<Value>([v]);
  const out: Node[] = [];
  for (let i = body.nodes.length - 1; i >= 0; i--) {
    const n = body.nodes[i]!;
    if (!n.outputs.some((o) => need.has(o))) continue;
    out.unshift(n);
    for (const x of n.inputs) need.add(x);
  }
  return out;
}

/** One anchor operand as recorded (`read`), resolved in the body, with the body nodes that read consumes. */
function resolveRead(node: Node, body: Graph, v: Value, read: OperandRead): { operand: AnchorOperand; nodes: Node[] } {
  const fail = (why: string): never => {
    throw new KilnError(`fused node %${node.output.name}: its anchor's operand %${v.name} is recorded as a '${read}' read, but ${why}`);
  };
  const param = (p: Value) => {
    const i = body.inputs.indexOf(p);
    return i >= 0 ? i : fail(`%${p.name} is not an operand of the fused node`);
  };
  const producer = v.producer;
  switch (read) {
    case 'plain':
      return { operand: { read, source: param(v), dtype: v.type.dtype }, nodes: [] };
    case 'view': {
      const t = traceView(v) ?? fail('it is no view of another tensor');
      return { operand: { read, source: param(t.base), dtype: t.base.type.dtype, view: t.view }, nodes: [...t.chain] };
    }
    case 'convert': {
      if (producer?.op !== 'cast' || producer.attrs.format !== undefined) fail('it is not made by a plain cast');
      const x = producer!.inputs[0]!;
      return { operand: { read, source: param(x), dtype: x.type.dtype }, nodes: [producer!] };
    }
    case 'scale': {
      const shape = v.type.shape;
      const [a, b] = producer?.op === 'mul' ? producer.inputs : fail('it is not made by a mul');
      const full = [a!, b!].find((p) => p.type.shape.length === shape.length && p.type.shape.every((d, i) => d === shape[i])) ?? fail('neither factor has its shape');
      const s = full === a ? b! : a!;
      const perChannel = s.type.shape.length === 4 && s.type.shape[1] === shape[1] && s.type.shape[2] === 1 && s.type.shape[3] === 1;
      if (!perChannel) fail(`its scale %${s.name} is not one value per channel`);
      return {
        operand: { read, source: param(full), dtype: full.type.dtype, scale: { source: param(s), dtype: s.type.dtype, batchStride: s.type.shape[0] === 1 ? 0 : s.type.shape[1]! } },
        nodes: [producer!],
      };
    }
    case 'dequantize': {
      if (producer?.op === 'dequantize_blocks') {
        const [codes, scales, zeros] = producer.inputs as [Value, Value, Value | undefined];
        const { shape, bits, block } = attrsOf(producer, dequantizeBlocksAttrs);
        const blocks = { source: param(scales), dtype: scales.type.dtype, bits, block, columns: shape[1]!, ...(zeros ? { zeros: { source: param(zeros), dtype: zeros.type.dtype } } : {}) };
        return { operand: { read, source: param(codes), dtype: codes.type.dtype, blocks }, nodes: [producer] };
      }
      // An int8 weight may be read through a view of it (matched by dequantizedWeight).
      const t = producer?.op === 'dequantize_int8' ? undefined : traceView(v);
      const dq = t ? t.base.producer : producer;
      if (dq?.op !== 'dequantize_int8') fail('it is not made by dequantize_int8 or dequantize_blocks, or a view of dequantize_int8');
      const [packed, scales] = dq!.inputs as [Value, Value];
      const { shape, axis } = attrsOf(dq!, dequantizeInt8Attrs);
      const int8 = { source: param(scales), dtype: scales.type.dtype, ...channelLayout(shape, axis) };
      return { operand: { read, source: param(packed), dtype: packed.type.dtype, int8, ...(t ? { view: t.view } : {}) }, nodes: [dq!, ...(t?.chain ?? [])] };
    }
    case 'chain': {
      const nodes = ancestors(body, v);
      if (nodes.some((n) => !getOp(n.op).spec.math)) fail('the nodes computing it are not all elementwise');
      const params = body.inputs.filter((p) => nodes.some((n) => n.inputs.includes(p)));
      const operands = params.map((p) => ({ source: param(p), dtype: p.type.dtype, ...(dimsAgree(dimsOf(p.type), dimsOf(v.type)) ? {} : { strides: broadcastStrides(dimsOf(p.type), dimsOf(v.type)) }) }));
      return { operand: { read, source: operands[0]?.source ?? param(v), dtype: v.type.dtype, chain: { operands, fn: bodyFunction('prologue_body', nodes, params, v) } }, nodes };
    }
  }
}

/** The elementwise nodes after an anchor as one epilogue function (WGSL `fnName`) over its result and their operands. */
function epilogueOf(node: Node, body: Graph, anchor: Node, after: readonly Node[], fnName: string): Epilogue {
  const params = body.inputs.filter((p) => after.some((n) => n.inputs.includes(p)));
  const fn = bodyFunction(fnName, after, [anchor.output, ...params], body.outputs[0]!);
  const out = node.output.type;
  return {
    name: after.map((n) => n.op).join('_'),
    operands: params.map((p) => ({ dtype: p.type.dtype, strides: broadcastStrides(dimsOf(p.type), dimsOf(out)), source: body.inputs.indexOf(p) })),
    outShape: dimsOf(out),
    outDType: out.dtype,
    body: (v, xs) => fn.call([`${wgslType(anchor.output.type.dtype)}(${v})`, ...xs]),
    helpers: fn.decls,
  };
}

/** An anchored fused node's anchor, its kernel, and the reads and epilogue fusion recorded (WGSL function `epilogueName`). */
export function anchoredWork(node: Node, epilogueName = 'epilogue_body'): { anchor: Node; impl: Anchor; io: AnchorIO } {
  const { body, anchor: anchorIndex, reads: recordedReads } = attrsOf(node, fusedAttrs);
  const anchor = body.nodes[anchorIndex!]!;
  const impl = ANCHORS[anchor.op];
  if (!impl) throw new KilnError(`fused node %${node.output.name}: its anchor ${anchor.op} (%${anchor.output.name}) has no kernel that runs fused work`);
  const reads = parseReads(recordedReads!)!;
  const resolved = anchor.inputs.map((v, i) => resolveRead(node, body, v, reads[i]!));
  const before = new Set(resolved.flatMap((r) => r.nodes));
  const after = body.nodes.filter((n) => n !== anchor && !before.has(n));
  const elementwise = after.length > 0 && after.every((n) => getOp(n.op).spec.math);
  if (after.length && !elementwise && impl.roles.epilogue(anchor).every((r) => r === 'elementwise')) {
    throw new KilnError(`fused node %${node.output.name}: its anchor ${anchor.op} takes only elementwise work after it, not ${after.map((n) => n.op).join(', ')}`);
  }
  const io: AnchorIO = {
    operands: resolved.map((r) => r.operand),
    ...(elementwise ? { epilogue: epilogueOf(node, body, anchor, after, epilogueName) } : {}),
    after,
    out: node.inputs.length,
  };
  return { anchor, impl, io: withScalarConstants(io, node) };
}

/** `io` with each epilogue operand that is a one-element constant among `node`'s operands given its value (see scalarConstant). */
function withScalarConstants(io: AnchorIO, node: Node): AnchorIO {
  if (!io.epilogue) return io;
  const operands = io.epilogue.operands.map((o) => {
    const value = o.source < node.inputs.length ? scalarConstant(node.inputs[o.source]!) : undefined;
    return value === undefined ? o : { ...o, value };
  });
  return { ...io, epilogue: { ...io.epilogue, operands } };
}

/** What an anchor's kernel does for `node`: an anchored fused node's work (see anchoredWork), or an unfused anchor op's plain reads. */
export function anchorWork(node: Node, epilogueName?: string): { anchor: Node; impl: Anchor; io: AnchorIO } {
  if (node.op === 'fused') return anchoredWork(node, epilogueName);
  const impl = ANCHORS[node.op];
  if (!impl) throw new KilnError(`%${node.output.name}: ${node.op} has no kernel that runs fused work`);
  return { anchor: node, impl, io: plainIO(node) };
}

/** `io` with every bound source mapped through `to` (from an inner node's values to its fused node's). */
function remapIO(io: AnchorIO, to: (s: Source) => Source): AnchorIO {
  const bound = <T extends Bound>(b: T): T => ({ ...b, source: to(b.source) });
  return {
    ...io,
    operands: io.operands.map((o) => ({
      ...bound(o),
      ...(o.scale ? { scale: bound(o.scale) } : {}),
      ...(o.int8 ? { int8: bound(o.int8) } : {}),
      ...(o.blocks ? { blocks: { ...bound(o.blocks), ...(o.blocks.zeros ? { zeros: bound(o.blocks.zeros) } : {}) } } : {}),
      ...(o.chain ? { chain: { ...o.chain, operands: o.chain.operands.map(bound) } } : {}),
    })),
    ...(io.epilogue ? { epilogue: { ...io.epilogue, operands: io.epilogue.operands.map(bound) } } : {}),
    out: to(io.out),
  };
}

/**
 * anchorWork for `inner`, a node of fused node `outer`'s body, its sources made `outer`'s: a body
 * parameter is the operand it stands for, a value the body returns is that result of `outer`
 * (so an inner node reads what another one wrote through `outer`'s result).
 */
export function innerWork(outer: Node, inner: Node, epilogueName?: string): { anchor: Node; impl: Anchor; io: AnchorIO } {
  const { body } = attrsOf(outer, fusedAttrs);
  const source = (v: Value): Source => {
    const k = body.inputs.indexOf(v);
    if (k >= 0) return k;
    const r = body.outputs.indexOf(v);
    if (r < 0) throw new KilnError(`fused node %${outer.output.name}: %${inner.output.name} reads %${v.name}, which its body neither takes nor returns`);
    return outer.inputs.length + r;
  };
  const work = anchorWork(inner, epilogueName);
  return { ...work, io: withScalarConstants(remapIO(work.io, (k) => source(k < inner.inputs.length ? inner.inputs[k]! : inner.outputs[k - inner.inputs.length]!)), outer) };
}
