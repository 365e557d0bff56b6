import { KilnError } from '../ir/errors.js';
import { graphToRecord } from '../ir/graph-record.js';
import { printGraph } from '../ir/printer.js';
import type { TensorData } from '../ir/tensor-data.js';
import { dimsOf } from '../ir/types.js';
import { dimText } from '../ir/size-expr.js';
import { combinedNeeds } from '../runtime/artifact.js';
import type { ManifestRequires, ManifestTensor, ManifestWeights } from '../runtime/manifest.js';
import { SEGMENTS_VERSION, type ManifestConstant, type ManifestSegment, type ManifestSegments } from '../runtime/manifest-segments.js';
import type { Segment, SegmentedProgram } from '../runtime/segmented.js';
import { sha256Hex } from '../runtime/sha256.js';
import { packProgram, type PackedFiles } from './pack-program.js';

// A program placed on several devices packed as a variant's `segments` (manifest-segments.ts):
// segment i's files go in `segments/i/` of the variant's folder: a WebGPU segment's kernels and
// weights.bin, a CPU segment's constants.bin, and its graph as IR text (graph.kir, for people;
// the runtime reads the graph from the manifest's record).

/** Where each constant starts in a CPU segment's constants file (its typed array is copied out at load). */
const CONSTANT_ALIGNMENT = 16;

export async function packSegments(
  program: SegmentedProgram, folder: string, files: PackedFiles,
): Promise<{ requires: ManifestRequires; segments: ManifestSegments }> {
  const list: ManifestSegment[] = [];
  const needs: ManifestRequires[] = [];
  for (const [i, s] of program.segments.entries()) {
    const dir = `${folder}segments/${i}/`;
    if (s.device === 'webgpu') {
      const { requires, ...packed } = await packProgram(s.program, dir, files);
      needs.push(requires);
      list.push({ device: 'webgpu', index: s.index, ...packed });
      continue;
    }
    const { record, tensors } = graphToRecord(s.graph);
    const { bytes, layout } = packConstants(tensors);
    files.extras[`${dir}graph.kir`] = printGraph(s.graph);
    let constants: ManifestWeights | undefined;
    if (tensors.length) {
      const file = `${dir}constants.bin`;
      files.weights[file] = bytes;
      constants = { file, bytes: bytes.byteLength, sha256: await sha256Hex(bytes), alignment: CONSTANT_ALIGNMENT };
    }
    list.push({ device: 'cpu', graph: record, ...(constants ? { constants } : {}), tensors: layout });
  }
  const { features, limits } = combinedNeeds(needs);
  return {
    requires: { features, limits },
    segments: {
      version: SEGMENTS_VERSION,
      ...segmentedInterface(program),
      list,
      aliases: { ...program.aliases },
      transfers: program.transfers,
    },
  };
}

/** The tensors one after another, each at a multiple of CONSTANT_ALIGNMENT. */
function packConstants(tensors: readonly TensorData[]): { bytes: Uint8Array; layout: ManifestConstant[] } {
  const layout: ManifestConstant[] = [];
  let end = 0;
  for (const t of tensors) {
    const offset = Math.ceil(end / CONSTANT_ALIGNMENT) * CONSTANT_ALIGNMENT;
    layout.push({ dtype: t.dtype, shape: [...t.shape], offset });
    end = offset + t.data.byteLength;
  }
  const bytes = new Uint8Array(end);
  tensors.forEach((t, k) => bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), layout[k]!.offset));
  return { bytes, layout };
}

/**
 * The model's inputs and outputs as the segments take and give them: an input's type is that of
 * the first segment reading it (directly or through a transfer), an output's that of the segment
 * computing it.
 */
function segmentedInterface(p: SegmentedProgram): { inputs: ManifestTensor[]; outputs: ManifestTensor[] } {
  const source = (name: string): string => {
    let n = name;
    while (p.aliases[n] !== undefined) n = p.aliases[n]!;
    return n;
  };
  const io = (s: Segment, kind: 'inputs' | 'outputs'): ManifestTensor[] => (s.device === 'webgpu'
    ? s.program[kind].map(({ name, dtype, shape, dims }) => ({ name, dtype, shape: [...shape], ...(dims ? { dims: [...dims] } : {}) }))
    : s.graph[kind].map((v) => ({
      name: v.name, dtype: v.type.dtype, shape: [...v.type.shape],
      ...(v.type.dims ? { dims: dimsOf(v.type).map((d) => (typeof d === 'number' ? d : dimText(d))) } : {}),
    })));
  const find = (name: string, kind: 'inputs' | 'outputs'): ManifestTensor => {
    const want = kind === 'inputs' ? name : source(name);
    for (const s of p.segments) {
      const t = io(s, kind).find((x) => (kind === 'inputs' ? source(x.name) : x.name) === want);
      if (t) return { ...t, name };
    }
    throw new KilnError(`${p.name}: ${kind === 'inputs' ? 'input' : 'output'} '${name}' is ${kind === 'inputs' ? 'read' : 'computed'} by no segment, so an artifact cannot say its type`);
  };
  return { inputs: p.inputs.map((n) => find(n, 'inputs')), outputs: p.outputs.map((n) => find(n, 'outputs')) };
}
