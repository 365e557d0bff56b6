// The op capability matrix: for every IR op, which layers of kiln implement it. Each layer keeps
// its own table (CPU kernels, GPU lowerings, gradient rules, ONNX mappings, the PyTorch-like
// API); this module, above all of them, reads those tables and sets them side by side.
import { allOps, type FusionKind } from '../ir/ops/index.js';
import { hasCpuKernel } from '../runtime/cpu/kernels/index.js';
import { subgraphKernels } from '../runtime/cpu/control-flow.js';
import { hasGpuLowering } from '../codegen/lower/index.js';
import { hasGradRule } from '../passes/autodiff/rules.js';
import { frontendEntries } from './frontend-entries.js';

/** The capabilities an op may have beyond its IR definition. */
export const CAPABILITIES = ['cpu', 'gpu', 'grad', 'onnx', 'frontend'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** One row of the matrix. */
export interface OpCapabilities {
  readonly op: string;
  readonly kind: FusionKind;
  /** A CPU reference kernel (src/runtime/cpu/kernels), or the fused body's interpreter. */
  readonly cpu: boolean;
  /** A WebGPU lowering (src/codegen/lower); without one, placement runs the op on the CPU. */
  readonly gpu: boolean;
  /** A gradient rule (src/passes/autodiff). */
  readonly grad: boolean;
  /** The ONNX op types whose import produced this op; undefined when that was not measured. */
  readonly onnx: readonly string[] | undefined;
  /** The PyTorch-like API's methods and functions that apply this op directly. */
  readonly frontend: readonly string[];
}

/**
 * Every IR op's row, in definition order. `onnxProducers` maps an IR op to the ONNX op types
 * that produce it (see onnx-producers.ts); without it the ONNX column is left unmeasured.
 */
export function capabilityMatrix(onnxProducers?: ReadonlyMap<string, readonly string[]>): OpCapabilities[] {
  const entries = frontendEntries();
  return allOps().map((def) => ({
    op: def.name,
    kind: def.kind,
    // A fused node's body, a loop's body and an if's branches are run op by op by the CPU executor.
    cpu: def.name === 'fused' || def.name in subgraphKernels || hasCpuKernel(def.name),
    gpu: hasGpuLowering(def.name),
    grad: hasGradRule(def.name),
    onnx: onnxProducers ? onnxProducers.get(def.name) ?? [] : undefined,
    frontend: entries.get(def.name) ?? [],
  }));
}

/** Whether a row has the capability. */
export function has(row: OpCapabilities, c: Capability): boolean | undefined {
  const v = row[c];
  return Array.isArray(v) ? v.length > 0 : (v as boolean | undefined);
}
