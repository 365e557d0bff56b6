// The model-level checks of an ONNX import, before any node is mapped: which default-domain
// opset it imports, whether every op is one kiln maps (all missing ones listed in one error),
// and whether its outputs are defined.
import { KilnError } from '../../ir/errors.js';
import { mapsDomain, onnxMapper } from './node.js';
import { nodeLabel } from './order.js';
import { MAX_OPSET, MIN_OPSET, opNotInOpset } from './opsets.js';
import type { GraphProtoObject, ModelProtoObject, NodeProtoObject } from './proto.js';
import { allNodes, nodeSubgraphs } from './subgraphs.js';
import { UnsupportedOnnxError } from './tensor.js';

/** The default ONNX domain's names. */
export const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

/** Every tensor name the model defines, subgraphs included (kiln's fresh names avoid them). */
export function tensorNames(defined: ReadonlySet<string>, nodes: readonly NodeProtoObject[]): Set<string> {
  const names = new Set(defined);
  for (const n of allNodes(nodes)) {
    for (const o of n.output ?? []) names.add(o);
    for (const sub of nodeSubgraphs(n)) for (const t of sub.initializer ?? []) names.add(t.name ?? '');
  }
  return names;
}

/** The opset version of the default domain the model imports. */
export function defaultOpset(model: ModelProtoObject): number {
  const imports = model.opset_import ?? [];
  const entry = imports.find((o) => DEFAULT_DOMAINS.has(o.domain ?? ''));
  // A model of other domains alone (an optimizer step, an ai.onnx.ml model) has no default-domain nodes.
  if (!entry && imports.some((o) => mapsDomain(o.domain ?? ''))) {
    const stray = allNodes(model.graph?.node ?? []).find((n) => DEFAULT_DOMAINS.has(n.domain ?? ''));
    if (stray) throw new KilnError(`node '${stray.name || stray.op_type}' (${stray.op_type}) is in the default ONNX domain, which the model does not import (opset_import lists only ${imports.map((o) => o.domain).join(', ')})`);
    return MAX_OPSET;
  }
  if (!entry && imports.length > 0) {
    const domains = imports.map((o) => `${o.domain} (version ${o.version ?? 0})`).join(', ');
    throw new UnsupportedOnnxError(`the model imports only the operator set${imports.length === 1 ? '' : 's'} ${domains}; kiln imports the default ONNX domain (ai.onnx)`);
  }
  if (!entry) throw new KilnError('the ONNX model imports no version of the default operator set (opset_import is missing; is the file truncated?)');
  const v = entry.version ?? 0;
  if (v < MIN_OPSET || v > MAX_OPSET) {
    throw new UnsupportedOnnxError(`the model uses ONNX opset ${v}; kiln imports opsets ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  return v;
}

/** Every graph output must be something the graph defines. */
export function checkOutputsDefined(g: GraphProtoObject, defined: ReadonlySet<string>, nodes: readonly NodeProtoObject[]): void {
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const missing = (g.output ?? []).map((v) => v.name ?? '').filter((n) => !defined.has(n) && !produced.has(n));
  if (missing.length) throw new KilnError(`the ONNX graph's outputs ${missing.map((m) => `'${m}'`).join(', ')} are not produced by any node, input or initializer`);
  if ((g.output ?? []).length === 0) throw new KilnError('the ONNX graph has no outputs');
}

/** A node's op type as kiln's mappers know it: bare in the default domain, else `domain.OpType`. */
export function mapperKey(n: NodeProtoObject): string {
  const domain = n.domain ?? '';
  return DEFAULT_DOMAINS.has(domain) ? n.op_type ?? '?' : `${domain}.${n.op_type}`;
}

/** Reports every op type kiln cannot import, with its count and first node, in one error. */
export function checkSupported(nodes: readonly NodeProtoObject[], opset: number): void {
  const missing = new Map<string, { count: number; first: string }>();
  nodes.forEach((n, i) => {
    const key = mapperKey(n);
    const known = onnxMapper(key) !== undefined;
    const tooNew = known ? opNotInOpset(key, opset) : undefined;
    if (tooNew) throw new KilnError(`node '${nodeLabel(n, i)}': ${tooNew}`);
    if (known) return;
    const m = missing.get(key);
    if (m) m.count++;
    else missing.set(key, { count: 1, first: nodeLabel(n, i) });
  });
  if (missing.size === 0) return;
  const lines = [...missing].map(([op, m]) => `${op} (${m.count} node${m.count === 1 ? '' : 's'}, first: '${m.first}')`);
  throw new UnsupportedOnnxError(`the model uses ${missing.size} op type${missing.size === 1 ? '' : 's'} kiln does not support:\n  ${lines.join('\n  ')}`);
}
