import { KilnError } from '../../ir/errors.js';
import { Graph } from '../../ir/graph.js';
import type { Device } from '../../ir/types.js';
import { dimRange, isSymbolic, parseSizeBound } from '../../ir/size-expr.js';
import type { AnyModule, ModuleOutput } from '../torch/module.js';
import { Tensor, tracing } from '../torch/tensor.js';

export interface TraceOptions {
  /** Graph name; the model's class name by default. */
  name?: string;
  /** Input names, in order; `x` for one input, `x0, x1, ...` for several. */
  inputNames?: string[];
  /** Output names; `y` for one output, `y0, y1, ...` for several. */
  outputNames?: string[];
  /**
   * Device the traced graph is placed on: 'webgpu' (the compiler's target) by default, wherever
   * the example inputs and parameters live. Each op's operands must live on one device, as for
   * eager ops; a model split across WebGPU devices (`.to('webgpu:1')` in forward) keeps its split:
   * what sits on webgpu:N (N >= 1) is placed `@webgpu:N`, and each move is a `transfer` node.
   */
  device?: Device;
  /**
   * Extents that vary from run to run (torch.export's `Dim`), per input and dimension: a size
   * with its range, `'T<=512'` or `'1<=B<=8'`, or null for a fixed extent. The graph then serves
   * every size in the ranges; in `forward`, `x.shape` reads each such extent's largest value, and
   * a reshape keeps an extent that varies where it asks for it at its own position.
   */
  dynamic?: readonly (readonly (string | null)[] | undefined)[];
}

/**
 * Records `model.forward` on symbolic tensors shaped like `exampleInputs` into a Graph.
 * Parameters become constants named by their path; the example data is not used. An op meeting
 * tensors from two devices (e.g. inputs on webgpu, parameters still on the CPU) fails as it
 * would eagerly. Parameters on webgpu must have been uploaded from host data (as `module.to`
 * does), since their values go into the graph.
 */
export function trace(model: AnyModule, exampleInputs: readonly Tensor[], opts: TraceOptions = {}): Graph {
  const device = opts.device ?? 'webgpu';
  const g = new Graph(opts.name ?? model.constructor.name);
  model.nameParameters();
  const names = opts.inputNames ?? (exampleInputs.length === 1 ? ['x'] : exampleInputs.map((_, i) => `x${i}`));
  if (names.length !== exampleInputs.length) throw new KilnError(`trace got ${exampleInputs.length} inputs but ${names.length} input names`);
  const inputs = exampleInputs.map((t, i) => {
    if (t.isDisposed) t.assertConcrete('trace');
    // An input on another WebGPU device than the first (a model split across devices) is named so.
    const on = t.deviceType === 'webgpu' && t.device !== 'webgpu:0' ? (t.device as Device) : device;
    const varying = opts.dynamic?.[i];
    if (varying && varying.length !== t.shape.length) throw new KilnError(`trace: dynamic sizes for input ${i} name ${varying.length} dimensions, but it has ${t.shape.length}`);
    const dims = varying?.map((d, k) => (d === null ? t.shape[k]! : parseSizeBound(d)));
    const type = dims?.some(isSymbolic) ? { dtype: t.dtype, shape: dims.map((d) => dimRange(d)[1]), device: on, dims } : { dtype: t.dtype, shape: t.shape, device: on };
    return Tensor.symbolic(g, g.addInput(names[i]!, type), t);
  });
  const outer = { ...tracing };
  let result: ModuleOutput;
  try {
    tracing.graph = g;
    tracing.device = device;
    result = model.eval().call(...inputs);
  } finally {
    Object.assign(tracing, outer);
  }
  // A tuple (an LSTM's output and states) gives the graph an output per tensor, in order.
  const outputs = flatOutputs(result);
  if (outputs.length === 0) throw new KilnError('the model returns no tensor');
  outputs.forEach((t, i) => {
    if (!t.isSymbolic || t.traceGraph !== g) throw new KilnError(`the model output${outputs.length > 1 ? ` ${i}` : ''} does not depend on its inputs`);
  });
  const outNames = opts.outputNames ?? (outputs.length === 1 ? ['y'] : outputs.map((_, i) => `y${i}`));
  if (outNames.length !== outputs.length) throw new KilnError(`trace got ${outNames.length} output names but the model returns ${outputs.length} tensors`);
  g.setOutputs(outputs.map((t) => t.value));
  // An output that is also an input keeps the input's name.
  outputs.forEach((t, i) => {
    if (t.value.producer) g.renameValue(t.value, outNames[i]!);
  });
  return g;
}

/** The tensors of a forward's result, depth first (undefined, PyTorch's None, is left out). */
function flatOutputs(result: ModuleOutput): Tensor[] {
  if (result === undefined) return [];
  return result instanceof Tensor ? [result] : result.flatMap(flatOutputs);
}
