// Reads one case of the ONNX project's backend tests (../shared/onnx-backend-tests) as plain data,
// for tests that check a kiln API (not an imported model) against the case's expected outputs:
// its single node's attributes, and the first data set's inputs and outputs by name.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModel, decodeTensor, readTensor } from '../../src/frontend/onnx/index.js';
import type { AttributeObject } from '../../src/frontend/onnx/proto.js';
import type { TensorData } from '../../src/ir/tensor-data.js';

export const ONNX_BACKEND_ROOT = process.env['KILN_ONNX_BACKEND_TESTS'] ?? fileURLToPath(new URL('../../../shared/onnx-backend-tests', import.meta.url));

export interface BackendCase {
  readonly name: string;
  readonly opType: string;
  /** The node's attributes: numbers, strings (decoded as UTF-8) or number lists. */
  readonly attrs: Readonly<Record<string, number | string | readonly number[]>>;
  /** The node's input names in order (an empty name for a skipped optional input). */
  readonly nodeInputs: readonly string[];
  /** The node's output names in order. */
  readonly nodeOutputs: readonly string[];
  /** The data set's tensors by graph input / output name (int64 as int32, as kiln reads them). */
  readonly inputs: Readonly<Record<string, TensorData>>;
  readonly outputs: Readonly<Record<string, TensorData>>;
}

/** The names of the node cases whose name matches `pattern` (none when the suite is absent). */
export function backendCaseNames(pattern: RegExp): string[] {
  const dir = join(ONNX_BACKEND_ROOT, 'node');
  return existsSync(dir) ? readdirSync(dir).filter((n) => pattern.test(n)).sort() : [];
}

function attrValue(a: AttributeObject): number | string | readonly number[] {
  if (a.s !== undefined && a.s.length) return new TextDecoder().decode(a.s);
  if (a.floats?.length) return a.floats;
  if (a.ints?.length) return a.ints.map(Number);
  return Number(a.f ?? a.i ?? 0);
}

/** Reads node case `name`: a model of one node and its test_data_set_0. */
export function readBackendCase(name: string): BackendCase {
  const dir = join(ONNX_BACKEND_ROOT, 'node', name);
  const model = decodeModel(readFileSync(join(dir, 'model.onnx')), `${name}/model.onnx`);
  const graph = model.graph!;
  if (graph.node?.length !== 1) throw new Error(`${name}: expected a model of one node, got ${graph.node?.length ?? 0}`);
  const node = graph.node[0]!;
  const data = join(dir, 'test_data_set_0');
  const read = (prefix: 'input' | 'output', names: string[]) =>
    Object.fromEntries(names.map((n, i) => {
      const file = `${prefix}_${i}.pb`;
      return [n, readTensor(decodeTensor(readFileSync(join(data, file)), file), undefined, file).data];
    }));
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  return {
    name,
    opType: node.op_type ?? '',
    attrs: Object.fromEntries((node.attribute ?? []).map((a) => [a.name ?? '', attrValue(a)])),
    nodeInputs: node.input ?? [],
    nodeOutputs: node.output ?? [],
    inputs: read('input', (graph.input ?? []).map((v) => v.name ?? '').filter((n) => !initializers.has(n))),
    outputs: read('output', (graph.output ?? []).map((v) => v.name ?? '')),
  };
}
