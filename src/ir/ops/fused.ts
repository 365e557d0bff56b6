import { attrsOf, isGraphAttr } from '../attrs.js';
import type { Node, Value } from '../graph.js';
import { OpTypeError } from '../errors.js';
import { dimsOf, formatShapeType, shapesEqual } from '../types.js';
import { dimText } from '../size-expr.js';
import { defineOp } from './registry.js';
import { OPERAND_READS, parseReads, type OperandRead } from '../fusion.js';

/** fused's attributes: the body graph, and what fusion decided (see below). */
export const fusedAttrs = {
  body: { kind: 'graph' },
  anchor: { kind: 'int', optional: true },
  reads: { kind: 'string', optional: true },
  kernel: { kind: 'string', optional: true },
} as const;

/**
 * Several ops run as one kernel: `body` is a closed graph whose parameters are the node's
 * operands (in order) and whose results are the node's results. Fusion creates these; the
 * body's name is the kernel's (e.g. `matmul_add_relu`). Fusion records its decisions beside the
 * body: `anchor`, the index of the body node whose kernel runs the rest (a conv, a matmul...),
 * and `reads`, how that kernel reads each of the anchor's operands (see ir/fusion.ts); or
 * `kernel`, a whole-body kernel by name (`squeeze_excite`). A body with none of these is an
 * elementwise chain.
 */
defineOp({
  name: 'fused', kind: 'opaque', inputs: [0, 64],
  attrs: fusedAttrs,
  infer: (inputs, attrs) => {
    const body = attrs.body;
    if (!isGraphAttr(body)) throw new OpTypeError('needs a body graph');
    if (attrs.anchor !== undefined) {
      const anchor = body.nodes[attrs.anchor];
      if (!anchor) throw new OpTypeError(`anchor ${String(attrs.anchor)} is not a node of body ${body.name} (${body.nodes.length} nodes)`);
      const reads = typeof attrs.reads === 'string' ? parseReads(attrs.reads) : undefined;
      if (!reads || reads.length !== anchor.inputs.length) {
        throw new OpTypeError(`reads "${String(attrs.reads)}" must name one of ${OPERAND_READS.join(', ')} for each of the anchor ${anchor.op}'s ${anchor.inputs.length} operands`);
      }
    }
    if (body.inputs.length !== inputs.length) {
      throw new OpTypeError(`body ${body.name} takes ${body.inputs.length} operands but the node passes ${inputs.length}`);
    }
    body.inputs.forEach((p, i) => {
      const t = inputs[i]!;
      if (p.type.dtype !== t.dtype || !shapesEqual(p.type.shape, t.shape)) {
        throw new OpTypeError(`operand ${i} is ${formatShapeType(t.dtype, t.shape)} but body ${body.name} expects ${formatShapeType(p.type.dtype, p.type.shape)}`);
      }
    });
    return body.outputs.map((v) => ({ dtype: v.type.dtype, shape: v.type.shape }));
  },
  // The body's own types hold the symbolic extents; the operands must carry the same ones.
  dims: (inputs, attrs) => {
    const body = attrs.body;
    body.inputs.forEach((p, i) => {
      const want = dimsOf(p.type).map(dimText).join(',');
      const got = inputs[i]!.map(dimText).join(',');
      if (want !== got) throw new OpTypeError(`operand ${i} is [${got}] but body ${body.name} expects [${want}]`);
    });
    return body.outputs.map((v) => dimsOf(v.type));
  },
});

/**
 * The node whose kernel runs `node`'s work: the anchor of an anchored fused node, or the node
 * itself when it is not fused; undefined for a fused chain or whole-body kernel.
 */
export function anchorOf(node: Node): Node | undefined {
  if (node.op !== 'fused') return node;
  const { body, anchor, kernel } = attrsOf(node, fusedAttrs);
  return anchor === undefined || kernel !== undefined ? undefined : body.nodes[anchor];
}

/** How `node`'s anchor reads its operand `i` (see anchorOf): as fusion recorded it, or 'plain' for a node not fused. */
export function anchorRead(node: Node, i: number): OperandRead | undefined {
  if (node.op !== 'fused') return 'plain';
  const { reads } = attrsOf(node, fusedAttrs);
  return reads === undefined ? undefined : parseReads(reads)?.[i];
}

/**
 * The node's operand that its anchor reads as operand `i` and nothing else in the body reads (a
 * parameter of the body passed straight through, as a 'plain' read has it), or undefined; a node
 * not fused reads its operand `i` itself.
 */
export function anchorOperand(node: Node, i: number): Value | undefined {
  if (node.op !== 'fused') return node.inputs[i];
  const { body } = attrsOf(node, fusedAttrs);
  const a = anchorOf(node);
  const param = a?.inputs[i];
  const k = param ? body.inputs.indexOf(param) : -1;
  if (k < 0 || body.nodes.some((n) => n !== a && n.inputs.includes(param!)) || a!.inputs.filter((v) => v === param).length !== 1) return undefined;
  return node.inputs[k];
}
