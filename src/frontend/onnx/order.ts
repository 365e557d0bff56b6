import { KilnError } from '../../ir/errors.js';
import type { NodeProtoObject } from './proto.js';
import { nodeReads } from './subgraphs.js';

/** A node's name for messages: its own, or `OpType #k` (its position) when it has none. */
export function nodeLabel(n: NodeProtoObject, index: number): string {
  return n.name || `${n.op_type ?? '?'} #${index}`;
}

const LIST_LIMIT = 8;

function listSome(items: readonly string[]): string {
  const shown = items.slice(0, LIST_LIMIT).join(', ');
  return items.length > LIST_LIMIT ? `${shown} and ${items.length - LIST_LIMIT} more` : shown;
}

/**
 * Checks the graph's wiring and returns its nodes in an execution order. ONNX requires nodes to
 * be sorted, but files from the wild are not always; this sorts them (stably) and reports every
 * dangling input (a name nothing defines), every name defined twice, and any cycle, at once.
 * `defined` holds the names of graph inputs and initializers.
 */
export function orderNodes(nodes: readonly NodeProtoObject[], defined: ReadonlySet<string>): NodeProtoObject[] {
  const producer = new Map<string, number>();
  const problems: string[] = [];
  nodes.forEach((n, i) => {
    for (const out of n.output ?? []) {
      if (out === '') continue;
      if (defined.has(out)) problems.push(`node '${nodeLabel(n, i)}' writes '${out}', which is also a graph input or initializer`);
      const other = producer.get(out);
      if (other !== undefined) problems.push(`'${out}' is written by two nodes: '${nodeLabel(nodes[other]!, other)}' and '${nodeLabel(n, i)}'`);
      else producer.set(out, i);
    }
  });
  // A node holding subgraphs (If) also depends on the outer names they read.
  const reads = nodes.map(nodeReads);
  const dangling: string[] = [];
  nodes.forEach((n, i) => {
    for (const name of reads[i]!) {
      if (name !== '' && !defined.has(name) && !producer.has(name)) dangling.push(`node '${nodeLabel(n, i)}' reads '${name}'`);
    }
  });
  if (dangling.length) problems.push(`inputs that no graph input, initializer or node defines: ${listSome(dangling)}`);
  if (problems.length) throw new KilnError(`the ONNX graph is malformed:\n  ${problems.join('\n  ')}`);

  // Kahn's algorithm over node indices, taking ready nodes in file order.
  const pending = reads.map((r) => new Set(r.filter((x) => producer.has(x))).size);
  const readers = new Map<number, number[]>();
  nodes.forEach((_, i) => {
    for (const name of new Set(reads[i]!)) {
      const p = producer.get(name);
      if (p !== undefined) readers.set(p, [...(readers.get(p) ?? []), i]);
    }
  });
  const ready = new MinHeap();
  pending.forEach((c, i) => { if (c === 0) ready.push(i); });
  const order: NodeProtoObject[] = [];
  const done = new Array<boolean>(nodes.length).fill(false);
  while (ready.size > 0) {
    const i = ready.pop();
    done[i] = true;
    order.push(nodes[i]!);
    for (const r of readers.get(i) ?? []) if (--pending[r]! === 0) ready.push(r);
  }
  if (order.length < nodes.length) {
    // Nodes left are on a cycle or downstream of one; peel the downstream ones off so the
    // message names the cycle.
    const left = new Set(nodes.flatMap((_, i) => (done[i] ? [] : [i])));
    for (let peeled = true; peeled;) {
      peeled = false;
      for (const i of left) {
        if (!(readers.get(i) ?? []).some((r) => left.has(r))) { left.delete(i); peeled = true; }
      }
    }
    const stuck = [...left].map((i) => nodeLabel(nodes[i]!, i));
    throw new KilnError(`the ONNX graph has a cycle: nodes ${listSome(stuck)} depend on each other's outputs (ONNX graphs must be acyclic)`);
  }
  return order;
}

/** A binary min-heap of numbers (node indices). */
class MinHeap {
  private readonly a: number[] = [];

  get size(): number {
    return this.a.length;
  }

  push(x: number): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
