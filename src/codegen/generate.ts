import type { Graph, Value } from '../ir/graph.js';
import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { numel } from '../ir/types.js';
import { toDeviceBytes } from '../runtime/host-data.js';
import {
  deviceBufferBytes, PROGRAM_VERSION,
  type BufferRole, type BufferSpec, type DispatchSpec, type KernelSpec, type Program,
} from '../runtime/program.js';
import { lowerNode } from './lower/index.js';

const WEIGHT_ALIGN = 16;

/** Ops that need no kernel: their output reuses the input's buffer as is. */
const ALIASING_OPS = new Set(['reshape']);

/**
 * Lowers a graph whose values all live on the WebGPU device to a Program: one kernel per
 * node (identical WGSL shared), one buffer per value (reshapes alias their input), weights
 * packed into one blob.
 */
export function generateProgram(graph: Graph): Program {
  for (const v of graph.values()) {
    if (v.type.device !== 'webgpu') {
      throw new KilnError(`%${v.name} is placed @${v.type.device}; generateProgram lowers WebGPU values only (CPU segments come from device placement)`);
    }
  }
  const buffers: BufferSpec[] = [];
  const bufferOf = new Map<Value, number>();
  const weightChunks: Uint8Array[] = [];
  let weightBytes = 0;
  const outputs = new Set(graph.outputs);
  const addBuffer = (v: Value, role: BufferRole, weightOffset?: number) => {
    const id = buffers.length;
    const bytes = deviceBufferBytes(v.type.dtype, numel(v.type.shape));
    buffers.push({ id, bytes, role, label: v.name, ...(weightOffset === undefined ? {} : { weightOffset }) });
    bufferOf.set(v, id);
  };

  for (const v of graph.inputs) addBuffer(v, 'input');

  const kernels: KernelSpec[] = [];
  const kernelIndex = new Map<string, number>();
  const dispatches: DispatchSpec[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'const') {
      const value = node.attrs.value as TensorData | undefined;
      if (!value) throw new KilnError(`const %${node.output.name} (ref "${String(node.attrs.ref)}") has no data: supply its weights`);
      const bytes = toDeviceBytes(value);
      const chunk = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      addBuffer(node.output, 'weight', weightBytes);
      weightChunks.push(chunk);
      const padded = Math.ceil(chunk.byteLength / WEIGHT_ALIGN) * WEIGHT_ALIGN;
      if (padded > chunk.byteLength) weightChunks.push(new Uint8Array(padded - chunk.byteLength));
      weightBytes += padded;
      continue;
    }
    if (ALIASING_OPS.has(node.op)) {
      bufferOf.set(node.output, bufferOf.get(node.inputs[0]!)!);
      continue;
    }
    for (const o of node.outputs) addBuffer(o, outputs.has(o) ? 'output' : 'scratch');
    if (node.outputs.every((o) => numel(o.type.shape) === 0)) continue;
    const values = [...node.inputs, ...node.outputs];
    for (const k of lowerNode(node)) {
      let ki = kernelIndex.get(k.wgsl);
      if (ki === undefined) {
        ki = kernels.length;
        kernels.push({ name: k.name, wgsl: k.wgsl, entryPoint: 'main' });
        kernelIndex.set(k.wgsl, ki);
      }
      const bound = k.bindings ? k.bindings.map((i) => values[i]!) : values;
      dispatches.push({
        kernel: ki,
        label: `${node.op} -> ${node.outputs.map((o) => `%${o.name}`).join(', ')}`,
        buffers: bound.map((v) => bufferOf.get(v)!),
        uniforms: k.uniforms,
        workgroups: k.workgroups,
      });
    }
  }

  const weights = new Uint8Array(weightBytes);
  let off = 0;
  for (const c of weightChunks) { weights.set(c, off); off += c.byteLength; }
  const binding = (v: Value) => ({ name: v.name, dtype: v.type.dtype, shape: [...v.type.shape], buffer: bufferOf.get(v)! });
  const dtypes = new Set(graph.values().map((v) => v.type.dtype));
  return {
    version: PROGRAM_VERSION,
    name: graph.name,
    inputs: graph.inputs.map(binding),
    outputs: graph.outputs.map(binding),
    buffers,
    kernels,
    dispatches,
    weights,
    requiredFeatures: dtypes.has('f16') ? ['shader-f16'] : [],
  };
}
