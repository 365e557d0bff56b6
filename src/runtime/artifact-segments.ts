import { graphFromRecord } from '../ir/graph-record.js';
import type { TensorData } from '../ir/tensor-data.js';
import { allocTyped, dtypeBytes, formatShapeType, numel } from '../ir/types.js';
import type { ArtifactFiles } from './artifact.js';
import { checkedFile, loadProgramFiles, rethrowAs } from './artifact-program.js';
import type { ArtifactManifest, ManifestRequires } from './manifest.js';
import type { ManifestConstant, ManifestSegments } from './manifest-segments.js';
import type { Segment, SegmentedProgram } from './segmented.js';

// Loading a variant stored as segments (manifest-segments.ts): each WebGPU segment's program is
// validated as a variant's is, each CPU segment's graph rebuilt from its record and constants,
// and the segments' wiring checked, so that a SegmentedSession never meets a value no one computes.

/** The kernel and weights files of a segmented variant. */
export function segmentFiles(s: ManifestSegments): { kernels: string[]; weights: string[] } {
  const kernels = new Set<string>();
  const weights = new Set<string>();
  for (const seg of s.list) {
    if (seg.device === 'webgpu') {
      for (const k of seg.program.kernels) kernels.add(k.file);
      weights.add(seg.weights.file);
    } else if (seg.constants) weights.add(seg.constants.file);
  }
  return { kernels: [...kernels], weights: [...weights] };
}

/** The segments of a variant, read from `files` and checked; with what its WebGPU programs need of a device each. */
export async function loadSegments(
  spec: ManifestSegments, manifest: ArtifactManifest, files: ArtifactFiles, fail: (msg: string) => never,
): Promise<{ segmented: SegmentedProgram; needs: ManifestRequires[] }> {
  const segments: Segment[] = [];
  const needs: ManifestRequires[] = [];
  for (const [i, s] of spec.list.entries()) {
    const at = (msg: string): never => fail(`segment #${i} (${s.device}): ${msg}`);
    if (s.device === 'webgpu') {
      const { program, needs: n } = await loadProgramFiles(s.program, s.weights, manifest, files, at);
      segments.push({ device: 'webgpu', index: s.index, program });
      needs.push(n);
    } else {
      const bytes = s.constants ? await checkedFile(files, manifest, s.constants, at) : new Uint8Array(0);
      const tensors = s.tensors.map((t, k) => constant(bytes, t, (msg) => at(`constant #${k}: ${msg}`)));
      segments.push({ device: 'cpu', graph: rethrowAs(at, () => graphFromRecord(s.graph, tensors)) });
    }
  }
  const segmented: SegmentedProgram = {
    name: manifest.model,
    inputs: spec.inputs.map((t) => t.name),
    outputs: spec.outputs.map((t) => t.name),
    segments,
    aliases: spec.aliases,
    transfers: spec.transfers,
  };
  checkWiring(segmented, fail);
  return { segmented, needs };
}

/** A constant's contents, copied out of its file (so that its typed array is aligned). */
function constant(bytes: Uint8Array, t: ManifestConstant, fail: (msg: string) => never): TensorData {
  const n = numel(t.shape);
  const size = n * dtypeBytes(t.dtype);
  if (t.offset + size > bytes.byteLength) fail(`${formatShapeType(t.dtype, t.shape)} at byte ${t.offset} runs past the end of its file (${bytes.byteLength} bytes)`);
  const data = allocTyped(t.dtype, n);
  new Uint8Array(data.buffer).set(bytes.subarray(t.offset, t.offset + size));
  return { dtype: t.dtype, shape: [...t.shape], data };
}

/**
 * Every value a segment reads, and every model output, is a model input or computed by an earlier
 * segment (directly, or moved by a transfer); aliases lead nowhere in a circle.
 */
function checkWiring(p: SegmentedProgram, fail: (msg: string) => never): void {
  const source = (name: string): string => {
    let n = name;
    for (let hops = 0; p.aliases[n] !== undefined; hops++) {
      if (hops > Object.keys(p.aliases).length) fail(`the transfer aliases of '${name}' form a circle`);
      n = p.aliases[n]!;
    }
    return n;
  };
  const known = new Set(p.inputs);
  const io = (s: Segment) => (s.device === 'webgpu'
    ? { inputs: s.program.inputs.map((b) => b.name), outputs: s.program.outputs.map((b) => b.name) }
    : { inputs: s.graph.inputs.map((v) => v.name), outputs: s.graph.outputs.map((v) => v.name) });
  p.segments.forEach((s, i) => {
    const { inputs, outputs } = io(s);
    const missing = inputs.filter((n) => !known.has(source(n)));
    if (missing.length) fail(`segment #${i} (${s.device}) reads ${missing.map((n) => `'${n}'`).join(', ')}, which no earlier segment computes and the model does not take`);
    for (const n of outputs) known.add(n);
  });
  const unmade = p.outputs.filter((n) => !known.has(source(n)));
  if (unmade.length) fail(`output${unmade.length > 1 ? 's' : ''} ${unmade.map((n) => `'${n}'`).join(', ')} ${unmade.length > 1 ? 'are' : 'is'} computed by no segment`);
}
