import { isGraphAttr } from './attrs.js';
import type { Graph, Node, Value } from './graph.js';
import { formatShapeType, type Device } from './types.js';

const DEVICE_COLOURS: Record<Device, string> = { webgpu: '#cfe3ff', cpu: '#ffe2b8' };

const quote = (s: string) => JSON.stringify(s);

/**
 * The graph in Graphviz's dot language: one box per node coloured by device (WebGPU blue, CPU
 * orange), fused kernels as boxes listing their ops, transfers as red diamonds, edges labelled
 * with the value's type. `dot -Tsvg` turns it into a picture.
 */
export function graphToDot(g: Graph): string {
  const id = new Map<Value, string>();
  const lines = [`digraph ${quote(g.name)} {`, '  rankdir=TB;', '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=8];'];
  g.inputs.forEach((v, i) => {
    id.set(v, `in${i}`);
    lines.push(`  in${i} [label=${quote(`%${v.name}\n${formatShapeType(v.type.dtype, v.type.shape)}`)}, shape=ellipse, fillcolor=${quote(DEVICE_COLOURS[v.type.device])}];`);
  });
  g.nodes.forEach((n, i) => {
    const nid = `n${i}`;
    n.outputs.forEach((o) => id.set(o, nid));
    lines.push(`  ${nid} [${nodeStyle(n)}];`);
    for (const v of n.inputs) {
      if (!id.has(v)) continue;
      lines.push(`  ${id.get(v)} -> ${nid} [label=${quote(formatShapeType(v.type.dtype, v.type.shape))}];`);
    }
  });
  g.outputs.forEach((v, i) => {
    lines.push(`  out${i} [label=${quote(`return %${v.name}`)}, shape=ellipse, fillcolor=${quote(DEVICE_COLOURS[v.type.device])}];`);
    if (id.has(v)) lines.push(`  ${id.get(v)} -> out${i};`);
  });
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

function nodeStyle(n: Node): string {
  const device = n.outputs[0]?.type.device ?? 'webgpu';
  const fill = `fillcolor=${quote(DEVICE_COLOURS[device])}`;
  if (n.op === 'transfer') return `label=${quote(`transfer -> @${device}`)}, shape=diamond, color="#cc0000", fillcolor="#ffd6d6"`;
  if (n.op === 'const') return `label=${quote(`const ${formatShapeType(n.output.type.dtype, n.output.type.shape)}`)}, shape=note, ${fill}`;
  const body = n.attrs.body;
  if (isGraphAttr(body)) {
    const ops = body.nodes.map((m) => m.op).join('\n');
    return `label=${quote(`${body.name}\n(fused kernel)\n${ops}`)}, penwidth=2, ${fill}`;
  }
  return `label=${quote(n.op)}, ${fill}`;
}
