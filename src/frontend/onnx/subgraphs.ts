import type { GraphProtoObject, NodeProtoObject } from './proto.js';

/** The graphs held in a node's attributes (If's branches, Loop's body). */
export function nodeSubgraphs(n: NodeProtoObject): GraphProtoObject[] {
  return (n.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
}

/**
 * Names a subgraph reads from enclosing scopes: read by its nodes (or nested subgraphs) or
 * returned, but defined by none of its inputs, initializers or nodes. A node holding subgraphs
 * depends on these as if they were its inputs.
 */
export function outerNames(g: GraphProtoObject): Set<string> {
  const defined = new Set<string>([
    ...(g.input ?? []).map((v) => v.name ?? ''),
    ...(g.initializer ?? []).map((t) => t.name ?? ''),
    ...(g.node ?? []).flatMap((n) => n.output ?? []),
  ]);
  const out = new Set<string>();
  const read = (name: string) => { if (name !== '' && !defined.has(name)) out.add(name); };
  for (const n of g.node ?? []) {
    for (const x of n.input ?? []) read(x);
    for (const sub of nodeSubgraphs(n)) for (const x of outerNames(sub)) read(x);
  }
  for (const v of g.output ?? []) read(v.name ?? '');
  return out;
}

/** A node's explicit inputs plus the outer names its subgraphs read. */
export function nodeReads(n: NodeProtoObject): string[] {
  const subs = nodeSubgraphs(n);
  if (subs.length === 0) return n.input ?? [];
  return [...new Set([...(n.input ?? []), ...subs.flatMap((g) => [...outerNames(g)])])];
}

/** Every node of a graph and, recursively, of the subgraphs its nodes hold. */
export function allNodes(nodes: readonly NodeProtoObject[]): NodeProtoObject[] {
  return nodes.flatMap((n) => [n, ...nodeSubgraphs(n).flatMap((g) => allNodes(g.node ?? []))]);
}
