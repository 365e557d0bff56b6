// Which ONNX op types produce which IR ops, measured rather than declared: a mapping function is
// code (it may decompose an op into several IR ops, or pick one by attribute), so the honest
// answer is what importing real ONNX nodes gives. The ONNX project's backend test suite has a
// model with a single node for nearly every op and attribute; each is imported with its first
// data set's inputs (as `kiln run` would) and the IR ops of the result are credited to that
// node's op type. Cases kiln refuses at import credit nothing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, decodeTensor, importModelForFeeds, readTensor, type ConstTensor } from '../frontend/onnx/index.js';
import type { ModelProtoObject } from '../frontend/onnx/proto.js';

/** The first data set's inputs by the model's input names (tensors only; the rest is left out). */
function firstFeeds(model: ModelProtoObject, dir: string): Record<string, ConstTensor> {
  const set = join(dir, 'test_data_set_0');
  if (!existsSync(set)) return {};
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (model.graph?.input ?? []).filter((v) => !initializers.has(v.name ?? ''));
  const feeds: Record<string, ConstTensor> = {};
  inputs.forEach((v, i) => {
    const file = join(set, `input_${i}.pb`);
    if (v.type?.tensor_type && existsSync(file)) feeds[v.name ?? ''] = readTensor(decodeTensor(readFileSync(file), file), undefined, `input_${i}`);
  });
  return feeds;
}

/**
 * IR op -> the ONNX op types (sorted; `domain.OpType` outside the default domain) whose
 * single-node models in `nodeDir` (the suite's `node/` folder) import to it.
 */
export function onnxProducers(nodeDir: string): Map<string, string[]> {
  const byOp = new Map<string, Set<string>>();
  for (const name of readdirSync(nodeDir).sort()) {
    const dir = join(nodeDir, name);
    if (!existsSync(join(dir, 'model.onnx'))) continue;
    const model = decodeModel(readFileSync(join(dir, 'model.onnx')), `${name}/model.onnx`);
    const nodes = model.graph?.node ?? [];
    if (nodes.length !== 1) continue;
    const n = nodes[0]!;
    const opType = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op_type}` : n.op_type ?? '';
    let ops: string[];
    try {
      ops = importModelForFeeds(model, firstFeeds(model, dir)).graph.nodes.map((x) => x.op);
    } catch {
      continue; // refused: it produces nothing (the conformance test judges the refusals)
    }
    for (const op of ops) byOp.set(op, (byOp.get(op) ?? new Set()).add(opType));
  }
  return new Map([...byOp].map(([op, types]) => [op, [...types].sort()]));
}
