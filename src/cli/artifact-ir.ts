import { readFile } from 'node:fs/promises';
import { attrsOf } from '../ir/attrs.js';
import { constAttrs } from '../ir/ops/source.js';
import { join } from 'node:path';
import { KilnError } from '../ir/errors.js';
import type { Graph } from '../ir/graph.js';
import { parseGraph } from '../ir/parser.js';
import { graphWeights, printGraph } from '../ir/printer.js';
import type { TensorData } from '../ir/tensor-data.js';
import type { LoadedVariant } from '../runtime/artifact.js';
import { fromDeviceBytes } from '../runtime/host-data.js';
import type { Program } from '../runtime/program.js';

// An artifact keeps the optimised graph as IR text (ir/final.kir) so that `kiln run ARTIFACT
// --compare cpu` can run the CPU reference on exactly what was compiled. Large constants print
// as refs; rather than a second copy of the weights, the manifest maps each ref to the weight
// buffer in weights.bin that holds its bytes.

/** The final IR text of `optimized` and, for each const ref in it, the weight buffer holding its data. */
export function finalIr(optimized: Graph, program: Program): { final: string; weightRefs: Record<string, number> } {
  const refOf = new Map<TensorData, string>();
  for (const [ref, data] of graphWeights(optimized)) refOf.set(data, ref);
  // codegen labels each weight buffer with the name of the const value it holds.
  const weightBuffer = new Map(program.buffers.filter((b) => b.role === 'weight').map((b) => [b.label, b.id]));
  const weightRefs: Record<string, number> = {};
  for (const n of optimized.nodes) {
    const ref = n.op === 'const' ? refOf.get(attrsOf(n, constAttrs).value!) : undefined;
    if (ref === undefined || ref in weightRefs) continue;
    const id = weightBuffer.get(n.outputs[0]!.name);
    if (id === undefined) throw new KilnError(`internal: const %${n.outputs[0]!.name} has no weight buffer in the program`);
    weightRefs[ref] = id;
  }
  return { final: printGraph(optimized), weightRefs };
}

/**
 * The graph a variant of an artifact was compiled from (its ir/final.kir) with every const's data
 * read from its weights file; undefined when the artifact kept no final IR for it.
 */
export async function artifactGraph(dir: string, variant: LoadedVariant): Promise<Graph | undefined> {
  const ir = variant.spec.ir;
  // A segmented variant keeps no final graph: its CPU segments are the reference's own kernels.
  if (!ir?.final || !variant.program) return undefined;
  let text: string;
  try {
    text = await readFile(join(dir, ir.final), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError(`${dir}: the manifest lists ${ir.final} for the CPU reference, but ${code === 'ENOENT' ? 'the file is missing' : `it cannot be read (${(e as Error).message})`}; compare by running the model instead (kiln run MODEL --compare cpu)`);
  }
  const refs = ir.weightRefs ?? {};
  const { buffers, weights } = variant.program;
  const byId = new Map(buffers.map((b) => [b.id, b]));
  // The refs' dtypes and shapes are in the text: read them from a first, data-less parse.
  const types = new Map<string, { dtype: TensorData['dtype']; shape: readonly number[] }>();
  for (const n of parseGraph(text).nodes) {
    if (n.op === 'const' && typeof n.attrs.ref === 'string') types.set(n.attrs.ref, n.outputs[0]!.type);
  }
  const graph = parseGraph(text, {
    weights: (ref) => {
      const id = refs[ref];
      const b = id === undefined ? undefined : byId.get(id);
      const t = types.get(ref);
      if (!b || !t) return undefined;
      return fromDeviceBytes(t.dtype, t.shape, weights.subarray(b.weightOffset!, b.weightOffset! + b.bytes));
    },
  });
  const missing = graph.nodes.filter((n) => n.op === 'const' && n.attrs.value === undefined).map((n) => String(n.attrs.ref));
  if (missing.length) throw new KilnError(`${ir.final}: no weights for const ref(s) ${missing.join(', ')} in the manifest's ir.weightRefs`);
  return graph;
}
