import { compile } from '../../compiler.js';
import { KilnError } from '../../ir/errors.js';
import { Graph, type Value } from '../../ir/graph.js';
import { printGraph } from '../../ir/printer.js';
import { formatShapeType, numel, shapesEqual } from '../../ir/types.js';
import { differentiate, gradName } from '../../passes/autodiff/differentiate.js';
import { runOnCpu } from '../../runtime/cpu/executor.js';
import { EagerRunner } from '../../runtime/eager.js';
import { hasGpuLowering } from '../../codegen/lower/index.js';
import type { Program } from '../../runtime/program.js';
import type { DeviceLike } from './devices.js';
import { MOVE_OP, noGrad, type TapeInput, type TapeNode } from './autograd-tape.js';
import { GpuStorage } from './storage.js';
import { hostTensorData } from './host-values.js';
import { Tensor } from './tensor.js';

// Eager backward: the ops recorded on the tape between the leaves and the loss become a Graph
// (leaves and other operands as inputs), the autodiff pass differentiates it, and the backward
// part runs on the loss's device, reading the forward results the eager ops already computed
// (they become inputs too, so nothing is recomputed). Programs are cached by the graph's text:
// a training loop that records the same ops every step compiles once. Ops recorded on several
// devices (joined by `t.to(device)` moves) run as one backward graph per segment, each on its
// device, and each move passes its gradient back to the device it came from.

/** A backward graph ready to run: which tensor feeds each input, which leaf each output is. */
interface BackwardPlan {
  readonly graph: Graph;
  readonly feeds: ReadonlyMap<string, Tensor>;
  readonly leaves: readonly { readonly tensor: Tensor; readonly output: string }[];
}

/** Compiled backward programs by graph text (shapes, ops and small constants included). */
const programs = new Map<string, Program>();
const MAX_CACHED = 64;

/** Counters for tests that prove a repeated backward compiles once. */
export const backwardStats = { compiled: 0, hits: 0 };

/** Implements `tensor.backward()`; see there. */
export async function backward(root: Tensor, gradient: Tensor | undefined, opts: { retainGraph?: boolean }): Promise<void> {
  if (!root.requiresGrad) throw new KilnError('element 0 of tensors does not require grad and does not have a grad_fn');
  if (gradient) {
    if (!shapesEqual(gradient.shape, root.shape) || gradient.dtype !== root.dtype) {
      throw new KilnError(`backward: gradient ${formatShapeType(gradient.dtype, gradient.shape)} must match the tensor ${formatShapeType(root.dtype, root.shape)}`);
    }
  } else if (numel(root.shape) !== 1) {
    throw new KilnError(`grad can be implicitly created only for scalar outputs; pass a gradient for this ${formatShapeType(root.dtype, root.shape)} tensor`);
  }
  const seed = (): Tensor => gradient ?? root.constantLike(hostTensorData(root.dtype, root.shape, new Array<number>(numel(root.shape)).fill(1)));
  const all = reachableNodes(root, () => false);
  // Tensors made before their device was acquired are computed once it is there.
  for (const t of [root, ...(gradient ? [gradient] : []), ...all.flatMap((n) => [...n.outputs, ...n.inputs.flatMap((i) => (i.kind === 'tensor' ? [i.tensor] : []))])]) await t.ready();
  if (all.length === 0) {
    // The root is a leaf itself: d(root)/d(root) is the seed.
    accumulate(root, seed());
    return;
  }
  const segments = planSegments(root, all);
  // Gradients waiting for their tensor's segment or move; the latest-recorded goes first, so
  // every contribution (all come from later records) has arrived when a tensor's turn comes.
  const pending = new Map<Tensor, Tensor | undefined>([[root, gradient]]);
  const deliver = (t: Tensor, g: Tensor): void => {
    if (t.isLeaf) return accumulate(t, g);
    const had = pending.get(t);
    pending.set(t, had ? noGrad(() => had.add(g)) : g);
  };
  while (pending.size) {
    const [t, g] = [...pending].reduce((a, b) => (b[0].gradFn!.node.id > a[0].gradFn!.node.id ? b : a));
    pending.delete(t);
    const node = t.gradFn!.node;
    if (node.op === MOVE_OP) {
      // The move's gradient is the incoming one, moved back to where the source lives.
      const source = (node.inputs[0] as Extract<TapeInput, { kind: 'tensor' }>).tensor;
      deliver(source, await (g ?? seed()).to(source.deviceName as DeviceLike));
      continue;
    }
    const plan = buildPlan(t, segments.get(t)!, g);
    const grads = t.deviceType !== 'webgpu' ? runOnHost(plan) : onGpu(plan.graph) ? runOnDevice(plan) : await viaHost(plan, t.deviceName as DeviceLike);
    for (const { tensor, output } of plan.leaves) deliver(tensor, grads.get(output)!);
  }
  if (!opts.retainGraph) release(all);
}

const isMoved = (t: Tensor): boolean => t.gradFn?.node.op === MOVE_OP;

/**
 * Splits the recorded ops at device moves into segments that each run as one backward graph on
 * one device, keyed by the tensor a segment starts from: the root, and the sources of moves.
 * A segment stops at moved tensors and at other segments' starts (whose gradients it delivers).
 * A tensor two segments would both reach starts a segment of its own, so no op runs twice.
 */
function planSegments(root: Tensor, all: readonly TapeNode[]): Map<Tensor, TapeNode[]> {
  const starts = new Set<Tensor>([root]);
  for (const n of all) {
    const source = n.op === MOVE_OP ? (n.inputs[0] as Extract<TapeInput, { kind: 'tensor' }>).tensor : undefined;
    if (source && !source.isLeaf && !isMoved(source)) starts.add(source);
  }
  for (;;) {
    const owner = new Map<TapeNode, Tensor>();
    const segments = new Map<Tensor, TapeNode[]>();
    let shared: TapeNode | undefined;
    for (const start of starts) {
      if (isMoved(start)) continue;
      const nodes = reachableNodes(start, (t) => t !== start && (starts.has(t) || isMoved(t)));
      for (const n of nodes) {
        if (owner.has(n) && owner.get(n) !== start) shared ??= n;
        owner.set(n, start);
      }
      segments.set(start, nodes);
    }
    if (!shared) return segments;
    if (shared.outputs.length !== 1) {
      throw new KilnError(`backward: the results of ${shared.op} feed computations on both sides of a device move; move them separately (one .to() per result)`);
    }
    starts.add(shared.outputs[0]!);
  }
}

/** Recorded ops the root depends on, in recording order (a valid execution order), not crossing `stop` tensors. */
function reachableNodes(root: Tensor, stop: (t: Tensor) => boolean): TapeNode[] {
  const seen = new Set<TapeNode>();
  const stack = [root];
  while (stack.length) {
    const t = stack.pop()!;
    const fn = t.gradFn;
    if (!fn || seen.has(fn.node) || stop(t)) continue;
    if (fn.node.released) {
      throw new KilnError(
        'Trying to backward through the graph a second time: its recorded operations were freed after the first backward(). ' +
        'Pass { retainGraph: true } to the first backward() if you need to call it again.',
      );
    }
    seen.add(fn.node);
    for (const i of fn.node.inputs) if (i.kind === 'tensor') stack.push(i.tensor);
  }
  return [...seen].sort((a, b) => a.id - b.id);
}

/**
 * The backward graph of the recorded ops. Names are positional (f<k>_<i> for node k's result i,
 * in<k> for the k-th outside operand) so that the same ops on new data give the same text.
 */
function buildPlan(root: Tensor, nodes: readonly TapeNode[], gradient: Tensor | undefined): BackwardPlan {
  const device = root.deviceType;
  const g = new Graph('backward');
  const index = new Map(nodes.map((n, k) => [n, k]));
  const produced = new Map<TapeNode, Value[]>();
  const outside = new Map<Tensor, Value>();
  const feeds = new Map<string, Tensor>();
  const leaves: Tensor[] = [];
  const valueOf = (t: Tensor): Value => {
    const fn = t.gradFn;
    if (fn && index.has(fn.node)) return produced.get(fn.node)![fn.index]!;
    let v = outside.get(t);
    if (!v) {
      v = g.addInput(`in${outside.size}`, { dtype: t.dtype, shape: t.shape, device });
      outside.set(t, v);
      feeds.set(v.name, t);
      if (t.requiresGrad) leaves.push(t);
    }
    return v;
  };
  nodes.forEach((n, k) => {
    const ins = n.inputs.map((i) => (i.kind === 'tensor' ? valueOf(i.tensor) : g.addNode('const', [], { value: i.data }, { device }).output));
    const node = g.addNode(n.op, ins, n.attrs, { names: n.outputs.map((_, j) => `f${k}_${j}`) });
    produced.set(n, node.outputs);
  });
  let loss = valueOf(root);
  if (gradient) {
    // d(sum(root * gradient))/d(leaf) is the vector-Jacobian product backward(gradient) asks for;
    // the rules of this mul and sum read only the root and the gradient, which have tensors.
    // A float16 root (a cast's result, met when a gradient comes back across a move) is summed
    // in float32: the gradient pass seeds the loss in float32, and the CPU computes in it.
    const wide = (v: Value): Value => (v.type.dtype === 'f32' ? v : g.addNode('cast', [v], { to: 'f32' }).output);
    const seed = valueOf(gradient);
    loss = g.addNode('sum', [g.addNode('mul', [wide(loss), wide(seed)]).output], { axes: [] }).output;
  }
  const forwardCount = g.nodes.length;
  g.setOutputs([loss]);
  const back = differentiate(g, { loss: loss.name, wrt: leaves.map((t) => outside.get(t)!.name) });
  const tensorOf = new Map<string, Tensor>();
  nodes.forEach((n, k) => n.outputs.forEach((t, j) => tensorOf.set(`f${k}_${j}`, t)));
  const graph = backwardOnly(back, forwardCount, leaves.length, tensorOf, feeds);
  return { graph, feeds, leaves: leaves.map((t) => ({ tensor: t, output: gradName(outside.get(t)!.name) })) };
}

/**
 * The backward half of a differentiated graph: forward results the gradient rules read become
 * inputs fed from the tensors the eager ops computed (forward constants and the seeding's nodes
 * are copied), and the outputs are the gradients only. The first `forwardCount` nodes of `back`
 * (copied first) are the forward pass.
 */
function backwardOnly(back: Graph, forwardCount: number, gradCount: number, tensorOf: ReadonlyMap<string, Tensor>, feeds: Map<string, Tensor>): Graph {
  const out = new Graph('backward');
  const map = new Map<Value, Value>();
  for (const v of back.inputs) map.set(v, out.addInput(v.name, v.type));
  const forward = new Set(back.nodes.slice(0, forwardCount));
  const get = (v: Value): Value => {
    const m = map.get(v);
    if (m) return m;
    const p = v.producer!;
    if (p.op === 'const') {
      const c = out.addNode('const', [], p.attrs, { device: v.type.device }).output;
      map.set(v, c);
      return c;
    }
    if (!forward.has(p)) throw new KilnError(`internal: backward reads %${v.name}, which the forward pass does not compute`);
    const t = tensorOf.get(v.name);
    if (!t) {
      // A node of the seeding (a float32 widening), not an eager op: computed again here.
      const node = out.addNode(p.op, p.inputs.map(get), p.attrs, { device: v.type.device });
      p.outputs.forEach((o, i) => map.set(o, node.outputs[i]!));
      return map.get(v)!;
    }
    const input = out.addInput(v.name, v.type);
    feeds.set(v.name, t);
    map.set(v, input);
    return input;
  };
  for (const n of back.nodes.slice(forwardCount)) {
    const node = out.addNode(n.op, n.inputs.map(get), n.attrs, { names: n.outputs.map((o) => o.name), device: n.outputs[0]!.type.device });
    n.outputs.forEach((o, i) => map.set(o, node.outputs[i]!));
  }
  out.setOutputs(back.outputs.slice(back.outputs.length - gradCount).map((v) => map.get(v)!));
  return out;
}

function cachedProgram(graph: Graph): Program {
  const key = printGraph(graph);
  let program = programs.get(key);
  if (program) {
    backwardStats.hits++;
    // Most recently used last, so the oldest goes first when the cache is full.
    programs.delete(key);
    programs.set(key, program);
    return program;
  }
  program = compile(graph);
  backwardStats.compiled++;
  programs.set(key, program);
  if (programs.size > MAX_CACHED) programs.delete(programs.keys().next().value!);
  return program;
}

function runOnDevice(plan: BackwardPlan): Map<string, Tensor> {
  const program = cachedProgram(plan.graph);
  const inputs = program.inputs.map((b) => plan.feeds.get(b.name)!.gpuStorage('backward'));
  const runner = inputs[0]?.runner ?? EagerRunner.for(plan.leaves[0]!.tensor.gpu!);
  const outs = runner.run(program, inputs.map((s) => s.buffer), 'backward');
  const fresh = new Map<GPUBuffer, GpuStorage>();
  const result = new Map<string, Tensor>();
  outs.forEach((o, i) => {
    const b = program.outputs[i]!;
    let storage = o.aliasOf !== undefined ? inputs[o.aliasOf]! : fresh.get(o.buffer);
    if (!storage) fresh.set(o.buffer, (storage = new GpuStorage(runner, o.buffer)));
    result.set(b.name, Tensor.fromGpu(storage, b.dtype, b.shape));
  });
  return result;
}

/** Whether every op of a backward graph has a WebGPU kernel (det's gradient, for one, has none yet). */
function onGpu(graph: Graph): boolean {
  return graph.nodes.every((n) => n.op === 'const' || hasGpuLowering(n.op));
}

/**
 * A backward graph with ops without a WebGPU kernel, for tensors on WebGPU: computed on the host
 * from its inputs read back, the gradients uploaded to `device` (as eager ops without a kernel run).
 */
async function viaHost(plan: BackwardPlan, device: DeviceLike): Promise<Map<string, Tensor>> {
  const feeds = new Map(await Promise.all([...plan.feeds].map(async ([name, t]) => [name, await t.detach().to('cpu')] as const)));
  const grads = runOnHost({ ...plan, feeds });
  return new Map(await Promise.all([...grads].map(async ([name, g]) => [name, await g.to(device)] as const)));
}

function runOnHost(plan: BackwardPlan): Map<string, Tensor> {
  const feeds = Object.fromEntries([...plan.feeds].filter(([name]) => plan.graph.inputs.some((v) => v.name === name)).map(([name, t]) => [name, t.data]));
  const outs = runOnCpu(plan.graph, feeds);
  return new Map(plan.graph.outputs.map((v) => [v.name, Tensor.fromData(outs[v.name]!)]));
}

/** Adds `g` into `leaf.grad` (gradients accumulate across backward calls until zeroGrad). */
function accumulate(leaf: Tensor, g: Tensor): void {
  leaf.grad = noGrad(() => (leaf.grad ? leaf.grad.add(g) : g));
}

/** Frees what the recorded ops held: their operands and results may be collected now. */
function release(nodes: readonly TapeNode[]): void {
  for (const n of nodes) {
    n.released = true;
    n.inputs = [];
    n.outputs = [];
  }
}
