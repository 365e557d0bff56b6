import type { Graph, Node } from '../ir/graph.js';
import { attrsOf } from '../ir/attrs.js';
import { MAX_STORAGE_BINDINGS } from '../ir/fusion.js';
import { anchorOf, anchorOperand, anchorRead, fusedAttrs } from '../ir/ops/fused.js';
import { isGpu } from '../ir/types.js';
import type { Pass } from './pass.js';
import { rebuild } from './rebuild.js';
import { closedBody } from './fusion-matchers.js';

/** A 1x1 conv2d of stride 1, unpadded and ungrouped. */
function isPointwise(conv: Node): boolean {
  const w = conv.inputs[1]!.type.shape;
  const a = conv.attrs;
  return w[2] === 1 && w[3] === 1 && a.groups === 1 && (a.stride as number[]).every((s) => s === 1) && (a.padding as number[]).every((p) => p === 0);
}

/** An ungrouped conv2d whose window is at most 3 wide (the pair kernel's first conv, see conv-pointwise-pair.ts). */
function isNarrowWindow(conv: Node): boolean {
  return conv.attrs.groups === 1 && conv.inputs[1]!.type.shape[3]! <= 3;
}

/** A depthwise conv2d: one input channel a group, multiplier 1 (which windows its kernel computes, lowering decides). */
function isDepthwise(conv: Node): boolean {
  const [C, perGroup] = conv.inputs[1]!.type.shape as [number, number];
  return conv.attrs.groups === C && perGroup === 1 && conv.output.type.shape[1] === C;
}

/** A conv2d on the GPU, alone or anchoring a fused node, that `fits` and reads its x as `reads` allows; else undefined. */
function pairableConv(n: Node | undefined, reads: readonly string[], fits: (conv: Node) => boolean): Node | undefined {
  if (!n || n.outputs.length !== 1 || !isGpu(n.output.type.device)) return undefined;
  const conv = anchorOf(n);
  return conv?.op === 'conv2d' && reads.includes(anchorRead(n, 0) ?? '') && fits(conv) ? n : undefined;
}

/** A pair member's name in the pair's: its fused body's, or its op's. */
function nameOf(n: Node): string {
  return n.op === 'fused' ? attrsOf(n, fusedAttrs).body.name : n.op;
}

/**
 * Pairs of convolutions (each fused or alone), the second a 1x1 one reading the first's output (a
 * MobileNet block's projection, then the next block's expansion; a 3x3 conv, then a 1x1 one),
 * the first's window at most 3 wide, become one fused node whose results are both
 * outputs: lowering runs the pair as one kernel where the adapter takes row kernels (see
 * kernels/conv-pointwise-pair.ts), one dispatch fewer. For software adapters, where a dispatch's
 * hand-off to the shader threads costs as much as a small kernel. The pair's kernel binds both
 * convolutions' tensors, so a pair is taken only within `maxBindings` storage buffers a shader.
 * A depthwise conv whose output a 1x1 first conv alone reads (a MobileNet block without a gate)
 * joins in front, its output a result too: the kernel computes it as the first reads it.
 */
export function fusePointwisePairs(maxBindings = MAX_STORAGE_BINDINGS): Pass {
  return {
    name: 'fuse-pointwise-pairs',
    description: 'fuse a conv (fused or alone) with the 1x1 conv reading its output into one node (software adapters)',
    run(g: Graph): Graph {
      const order = new Map(g.nodes.map((n, i) => [n, i]));
      const users = g.users();
      const pairs = new Map<Node, Node>(); // second -> first
      const taken = new Set<Node>();
      for (const second of g.nodes) {
        if (!pairableConv(second, ['plain'], isPointwise) || taken.has(second)) continue;
        const x = anchorOperand(second, 0);
        const first = pairableConv(x?.producer ?? undefined, ['plain', 'scale'], isNarrowWindow);
        // The second reads the first's output as its conv's input, and nowhere else.
        if (!first || taken.has(first) || second.inputs.filter((v) => v === x).length !== 1 || first.output.type.device !== second.output.type.device) continue;
        // The pair runs where the second is: the first's other readers must come after it.
        if ((users.get(first.output) ?? []).some((u) => u !== second && order.get(u)! < order.get(second)!)) continue;
        if (first.inputs.length + second.inputs.length + 1 > maxBindings) continue;
        pairs.set(second, first);
        taken.add(first).add(second);
      }
      if (!pairs.size) return g;
      // A depthwise conv whose output a 1x1 first conv alone reads joins its pair in front: the
      // kernel computes it as the first conv reads it (a MobileNet block without a gate).
      const onlyReader = g.onlyReaders();
      const depthwise = new Map<Node, Node>(); // first -> the depthwise conv before it
      for (const [second, first] of pairs) {
        const x = pairableConv(first, ['plain'], isPointwise) ? anchorOperand(first, 0) : undefined;
        const dw = pairableConv(x?.producer ?? undefined, ['plain'], isDepthwise);
        if (!dw || onlyReader(x!) !== first || dw.output.type.device !== first.output.type.device) continue;
        if (dw.inputs.length + first.inputs.length + second.inputs.length + 1 > maxBindings) continue;
        depthwise.set(first, dw);
      }
      const members = new Set([...pairs.values(), ...depthwise.values()]);
      return rebuild(g, (node, b) => {
        if (members.has(node)) return true;
        const first = pairs.get(node);
        if (!first) return false;
        const dw = depthwise.get(first);
        const nodes = [...(dw ? [dw] : []), first, node];
        const { body, inputs } = closedBody(nodes.map(nameOf).join('_then_'), nodes, nodes.map((n) => n.output));
        const fused = b.add('fused', inputs.map((v) => b.get(v)), { body, kernel: 'pointwise_pair' }, node.output.type.device, nodes.map((n) => n.output.name));
        nodes.forEach((n, i) => b.replace(n.output, fused.outputs[i]!));
        return true;
      });
    },
  };
}
