import type { Graph, Node, Value } from '../ir/graph.js';
import { attrsOf } from '../ir/attrs.js';
import { constAttrs } from '../ir/ops/source.js';
import { fusedAttrs } from '../ir/ops/fused.js';
import { KilnError } from '../ir/errors.js';
import { dimsOf, formatType, isDynamic, numel } from '../ir/types.js';
import { sizeVarsOf, type Dim } from '../ir/size-expr.js';
import { getOp } from '../ir/ops/index.js';
import { toDeviceBytes } from '../runtime/host-data.js';
import {
  deviceBufferBytes, PROGRAM_VERSION,
  type BufferRole, type BufferSpec, type DispatchSpec, type DispatchVariant, type KernelSpec, type Program, type SizeWord,
} from '../runtime/program.js';
import { lowerNode, readsSymbolicSizes } from './lower/index.js';
import type { LowerContext } from './lower/lowering.js';
import type { EmittedKernel } from './kernels/kernel.js';
import { planGraphMemory, type MemoryPlan } from './plan-memory.js';

const WEIGHT_ALIGN = 16;

/** A Program and what codegen decided on the way, for `--stats`. */
export interface CodegenResult {
  readonly program: Program;
  readonly memory: MemoryPlan;
}

/**
 * A node's kernels, refused naming the node when a size, offset or literal in them does not fit
 * 32 bits (a huge stride or padding on a small tensor), which the device would otherwise reject
 * or, for a uniform, silently wrap.
 */
function lowered(node: Node, ctx: LowerContext): EmittedKernel[] {
  const where = `node %${node.outputs.map((o) => o.name).join(', %')} (${node.op})`;
  let kernels: EmittedKernel[];
  try {
    // A lowering that reads static extents would bake the largest sizes into a program meant for all.
    const varying = [...node.inputs, ...node.outputs].find((v) => isDynamic(v.type));
    if (varying && !readsSymbolicSizes(node)) {
      throw new KilnError(`${where}: its WebGPU kernel takes fixed sizes only, but %${varying.name} is ${formatType(varying.type)} (compile it with --input-shape giving every size)`);
    }
    kernels = lowerNode(node, ctx);
  } catch (e) {
    if (e instanceof KilnError && /^(uniform|its kernel) /.test(e.message)) throw new KilnError(`${where}: ${e.message}`);
    throw e;
  }
  for (const k of kernels.flatMap((k) => [k, ...(k.variants ?? []).map((v) => v.kernel)])) {
    // Integer literals only: the digits of a float literal (0.1666666716337204, 1e-7) are not one.
    const wide = /(?<![\w.])(\d{10,})[ui]?(?![\w.])/.exec(k.wgsl.replace(/\/\/.*$/gm, ''));
    if (wide && Number(wide[1]) > 0xffffffff) throw new KilnError(`${where}: its kernel '${k.name}' would hold the integer ${wide[1]}, past 32 bits`);
  }
  return kernels;
}

/** A size as the Program stores it: a number, or its expression's text. */
const sizeWord = (d: Dim): SizeWord => (typeof d === 'number' ? d : d.text);

/** Most elements of one tensor: kernels index with i32 (and WGSL integer literals are 32-bit). */
const MAX_KERNEL_ELEMENTS = 2 ** 31 - 1;
/** Most bytes of one tensor: storage bindings are sized in 32 bits on every WebGPU backend. */
const MAX_BINDING_BYTES = 2 ** 32 - 4;

/**
 * Lowers a graph whose values all live on the WebGPU device to a Program: the kernels of each
 * node (identical WGSL shared), weights packed into one blob, intermediates in scratch buffers
 * reused by liveness (reshapes alias their input).
 */
export function generateProgram(graph: Graph, ctx: LowerContext = {}): Program {
  return generate(graph, ctx).program;
}

/** generateProgram, also returning the memory plan; `ctx` carries tuned kernel choices. */
export function generate(graph: Graph, ctx: LowerContext = {}): CodegenResult {
  for (const v of graph.values()) {
    if (v.type.device !== 'webgpu') {
      throw new KilnError(`%${v.name}${v.producer ? ` (${v.producer.op})` : ''} is placed @${v.type.device}: a Program holds WebGPU kernels only, so a graph with ops that run on the CPU (ops without a WebGPU kernel) compiles in segments (compileSegmented or compileForArtifact; \`kiln run MODEL\` and \`kiln compile\` do), not to one Program`);
    }
    // Kernels index elements with 32-bit integers; a device's own, smaller limits are checked at load.
    const n = numel(v.type.shape);
    const bytes = deviceBufferBytes(v.type.dtype, n);
    if (n > MAX_KERNEL_ELEMENTS || bytes > MAX_BINDING_BYTES) {
      throw new KilnError(`%${v.name} (${v.producer?.op ?? 'input'}) is ${v.type.dtype}[${v.type.shape.join(',')}]: ${n} elements in ${bytes} bytes, more than one WebGPU binding holds (${MAX_KERNEL_ELEMENTS} elements, ${MAX_BINDING_BYTES} bytes)`);
    }
  }
  const memory = planGraphMemory(graph);
  const { root } = memory;

  const buffers: BufferSpec[] = [];
  const bufferOf = new Map<Value, number>();
  const addBuffer = (bytes: number, role: BufferRole, label: string, weightOffset?: number) => {
    buffers.push({ id: buffers.length, bytes, role, label, ...(weightOffset === undefined ? {} : { weightOffset }) });
    return buffers.length - 1;
  };
  const valueBytes = (v: Value) => deviceBufferBytes(v.type.dtype, numel(v.type.shape));
  for (const v of graph.inputs) bufferOf.set(v, addBuffer(valueBytes(v), 'input', v.name));
  const slotBuffer = memory.slotBytes.map((bytes, i) => addBuffer(bytes, 'scratch', `scratch${i}`));

  const weightChunks: Uint8Array[] = [];
  let weightBytes = 0;
  const kernels: KernelSpec[] = [];
  const kernelIndex = new Map<string, number>();
  const dispatches: DispatchSpec[] = [];
  /** A kernel's index (identical WGSL shared), uniform words and workgroup counts. */
  const sized = (k: EmittedKernel) => {
    let ki = kernelIndex.get(k.wgsl);
    if (ki === undefined) {
      ki = kernels.length;
      kernels.push({ name: k.name, wgsl: k.wgsl, entryPoint: 'main' });
      kernelIndex.set(k.wgsl, ki);
    }
    return {
      kernel: ki,
      ...(k.uniforms.length ? { uniforms: k.uniforms.map(sizeWord) } : {}),
      workgroups: k.workgroups.map(sizeWord) as [SizeWord, SizeWord, SizeWord],
    };
  };
  for (const node of graph.nodes) {
    if (node.op === 'const') {
      const value = attrsOf(node, constAttrs).value;
      if (!value) throw new KilnError(`const %${node.output.name} (ref "${String(node.attrs.ref)}") has no data: supply its weights`);
      const bytes = toDeviceBytes(value);
      const chunk = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      bufferOf.set(node.output, addBuffer(chunk.byteLength, 'weight', node.output.name, weightBytes));
      weightChunks.push(chunk);
      const padded = Math.ceil(chunk.byteLength / WEIGHT_ALIGN) * WEIGHT_ALIGN;
      if (padded > chunk.byteLength) weightChunks.push(new Uint8Array(padded - chunk.byteLength));
      weightBytes += padded;
      continue;
    }
    for (const o of node.outputs) {
      const r = root(o);
      if (r !== o) bufferOf.set(o, bufferOf.get(r)!);
      else if (memory.slotOf.has(o)) bufferOf.set(o, slotBuffer[memory.slotOf.get(o)!]!);
      else bufferOf.set(o, addBuffer(valueBytes(o), 'output', o.name));
    }
    if (getOp(node.op).aliasesInput || node.outputs.every((o) => numel(o.type.shape) === 0)) continue;
    const values = [...node.inputs, ...node.outputs];
    for (const k of lowered(node, ctx)) {
      const bound = k.bindings.map((i) => values[i]);
      // A lowering that lost track of an operand (as a hand-edited fused body can make it) must
      // fail here, naming the node, not produce a dispatch bound to no buffer.
      const unbound = bound.findIndex((v) => v === undefined || !bufferOf.has(v));
      if (unbound >= 0) {
        throw new KilnError(`node %${node.output.name} (${node.op}): its kernel '${k.name}' binds operand ${k.bindings[unbound]}, which the node does not have (${values.length} operands and results)`);
      }
      const own = sized(k);
      const variants = (k.variants ?? []).map((v): DispatchVariant => {
        if (v.kernel.bindings.join() !== k.bindings.join()) throw new KilnError(`node %${node.output.name} (${node.op}): kernel variant '${v.kernel.name}' binds other operands than '${k.name}'`);
        return { when: { size: sizeWord(v.size).toString(), ...(v.min === undefined ? {} : { min: v.min }), ...(v.max === undefined ? {} : { max: v.max }) }, ...sized(v.kernel) };
      });
      dispatches.push({
        label: `${node.op === 'fused' ? attrsOf(node, fusedAttrs).body.name : node.op} -> ${node.outputs.map((o) => `%${o.name}`).join(', ')}`,
        buffers: bound.map((v) => bufferOf.get(v)!),
        ...own,
        ...(variants.length ? { variants } : {}),
      });
    }
  }

  const weights = new Uint8Array(weightBytes);
  let off = 0;
  for (const c of weightChunks) { weights.set(c, off); off += c.byteLength; }
  const binding = (v: Value) => ({
    name: v.name, dtype: v.type.dtype, shape: [...v.type.shape], buffer: bufferOf.get(v)!,
    ...(isDynamic(v.type) ? { dims: v.type.dims!.map(sizeWord) } : {}),
  });
  const sizes = [...sizeVarsOf(graph.values().flatMap((v) => dimsOf(v.type))).values()];
  const dtypes = new Set(graph.values().map((v) => v.type.dtype));
  const program: Program = {
    version: PROGRAM_VERSION,
    name: graph.name,
    inputs: graph.inputs.map(binding),
    outputs: graph.outputs.map(binding),
    buffers,
    kernels,
    dispatches,
    weights,
    requiredFeatures: dtypes.has('f16') ? ['shader-f16'] : [],
    ...(sizes.length ? { sizes } : {}),
  };
  return { program, memory };
}
