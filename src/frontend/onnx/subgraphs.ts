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

/**
 * Attributes that name tensors of the enclosing graph, by op type: the Gradient of the
 * ai.onnx.preview.training domain differentiates `y` with respect to `xs` (and `zs`), so it
 * reads them as if they were inputs (it is mapped after they are computed).
 */
const NAMING_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = { Gradient: ['xs', 'zs', 'y'] };

/** The tensor names a node's attributes give (see NAMING_ATTRIBUTES). */
function attributeReads(n: NodeProtoObject): string[] {
  const named = NAMING_ATTRIBUTES[n.op_type ?? ''];
  if (!named) return [];
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return (n.attribute ?? []).filter((a) => named.includes(a.name ?? '')).flatMap((a) => [...(a.s ? [text(a.s)] : []), ...(a.strings ?? []).map(text)]);
}

/** A node's explicit inputs plus the outer names its subgraphs read (and the tensors its attributes name). */
export function nodeReads(n: NodeProtoObject): string[] {
  const subs = nodeSubgraphs(n);
  const named = attributeReads(n);
  if (subs.length === 0 && named.length === 0) return n.input ?? [];
  return [...new Set([...(n.input ?? []), ...named, ...subs.flatMap((g) => [...outerNames(g)])])];
}

/** Every node of a graph and, recursively, of the subgraphs its nodes hold. */
export function allNodes(nodes: readonly NodeProtoObject[]): NodeProtoObject[] {
  return nodes.flatMap((n) => [n, ...nodeSubgraphs(n).flatMap((g) => allNodes(g.node ?? []))]);
}

/**
 * The nodes of `nodes` (in execution order) that compute `output` from `params`: those it
 * depends on that depend on one of them, as a subgraph taking `params` as its inputs. The other
 * names those nodes read are the enclosing scope's (importClosedSubgraph passes them in).
 */
export function functionProto(nodes: readonly NodeProtoObject[], output: string, params: readonly string[], name: string): GraphProtoObject {
  const producer = new Map<string, NodeProtoObject>();
  for (const n of nodes) for (const o of n.output ?? []) if (o !== '') producer.set(o, n);
  const inputs = new Set(params);
  const needed = new Set<NodeProtoObject>();
  for (const stack = [output]; stack.length;) {
    const x = stack.pop()!;
    const p = inputs.has(x) ? undefined : producer.get(x);
    if (!p || needed.has(p)) continue;
    needed.add(p);
    stack.push(...nodeReads(p));
  }
  const depends = new Set(params);
  const kept = nodes.filter((n) => {
    if (!needed.has(n) || !nodeReads(n).some((x) => depends.has(x))) return false;
    for (const o of n.output ?? []) depends.add(o);
    return true;
  });
  return { name, input: params.map((p) => ({ name: p })), node: kept, output: [{ name: output }] };
}
