import { isGraphAttr } from './attrs.js';
import type { Graph, Node, Value } from './graph.js';
import { isTensorData } from './tensor-data.js';
import { formatShapeType, isGpu, type Device } from './types.js';

/** WebGPU devices blue, the CPU orange. */
const colourOf = (d: Device): string => (isGpu(d) ? '#cfe3ff' : '#ffe2b8');

const quote = (s: string) => JSON.stringify(s);

/**
 * The graph in Graphviz's dot language: one box per node (its op and its output's `%name`)
 * coloured by device (WebGPU blue, CPU orange), fused kernels as boxes listing their ops,
 * transfers as red diamonds, edges labelled with the value's type. Constants are not drawn as
 * nodes: each is listed in the label of the node that reads it (a weight by its type, a small
 * one by its values), so shared scalars draw no edges across the page and weights do not
 * outnumber ops. Nodes whose results reach no output are left out. `renderSvg` (dot-svg.ts)
 * turns it into a picture.
 */
export function graphToDot(g: Graph): string {
  const live = liveNodes(g);
  const id = new Map<Value, string>();
  const lines = [`digraph ${quote(g.name)} {`, '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];'];
  g.inputs.forEach((v, i) => {
    id.set(v, `in${i}`);
    lines.push(`  in${i} [label=${quote(`%${v.name}\n${formatShapeType(v.type.dtype, v.type.shape)}`)}, shape=ellipse, fillcolor=${quote(colourOf(v.type.device))}];`);
  });
  g.nodes.forEach((n, i) => {
    if (n.op === 'const' || !live.has(n)) return;
    const nid = `n${i}`;
    n.outputs.forEach((o) => id.set(o, nid));
    lines.push(`  ${nid} [${nodeStyle(n)}];`);
    for (const v of n.inputs) {
      if (!id.has(v)) continue;
      lines.push(`  ${id.get(v)} -> ${nid} [label=${quote(formatShapeType(v.type.dtype, v.type.shape))}];`);
    }
  });
  g.outputs.forEach((v, i) => {
    lines.push(`  out${i} [label=${quote(`return %${v.name}`)}, shape=ellipse, fillcolor=${quote(colourOf(v.type.device))}];`);
    const from = id.get(v) ?? (v.producer?.op === 'const' ? constOutput(v, i, lines) : undefined);
    if (from) lines.push(`  ${from} -> out${i};`);
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The nodes whose results reach a graph output. */
function liveNodes(g: Graph): Set<Node> {
  const live = new Set<Node>();
  const stack = g.outputs.map((v) => v.producer).filter((n): n is Node => n != null);
  while (stack.length) {
    const n = stack.pop()!;
    if (live.has(n)) continue;
    live.add(n);
    for (const v of n.inputs) if (v.producer) stack.push(v.producer);
  }
  return live;
}

/** A constant returned as an output: the one constant drawn as a node. */
function constOutput(v: Value, i: number, lines: string[]): string {
  lines.push(`  c${i} [label=${quote(`const %${v.name}\n${constText(v)}`)}, shape=note, fillcolor="#eeeeee"];`);
  return `c${i}`;
}

/** A constant as a label line shows it: up to 4 values inline, else its type (a weight). */
function constText(v: Value): string {
  const value = v.producer?.attrs.value;
  const type = formatShapeType(v.type.dtype, v.type.shape);
  if (isTensorData(value) && value.data.length <= 4) {
    const shown = Array.from(value.data as ArrayLike<number>, (x) => String(Number(x.toPrecision(4))));
    return v.type.shape.length === 0 ? shown[0]! : `[${shown.join(', ')}]`;
  }
  const ref = v.producer?.attrs.ref;
  return typeof ref === 'string' ? `${type} (${ref})` : type;
}

/** The label lines naming the node's constant operands, by operand position. */
function constLines(n: Node): string[] {
  return n.inputs.flatMap((v, i) => (v.producer?.op === 'const' ? [`in${i}: ${constText(v)}`] : []));
}

function nodeStyle(n: Node): string {
  const device = n.outputs[0]?.type.device ?? 'webgpu';
  const fill = `fillcolor=${quote(colourOf(device))}`;
  const names = n.outputs.map((o) => `%${o.name}`).join(', ');
  const consts = constLines(n);
  if (n.op === 'transfer') return `label=${quote(`transfer -> @${device}\n${names}`)}, shape=diamond, color="#cc0000", fillcolor="#ffd6d6"`;
  const body = n.attrs.body;
  if (isGraphAttr(body)) {
    const ops = body.nodes.filter((m) => m.op !== 'const').map((m) => m.op).join('\n');
    return `label=${quote([`${body.name}  ${names}`, '(fused kernel)', ops, ...consts].join('\n'))}, penwidth=2, ${fill}`;
  }
  return `label=${quote([`${n.op}  ${names}`, ...consts].join('\n'))}, ${fill}`;
}
