import { basename } from 'node:path';
import { KilnError } from '../ir/errors.js';
import { UsageError } from './errors.js';
import { describeCondition, describeSizes } from '../runtime/sizes.js';
import { formatShapeType } from '../ir/types.js';
import type { LoadedArtifact, LoadedVariant } from '../runtime/artifact.js';
import { LIMIT_MEANINGS } from '../runtime/artifact-device.js';
import { isArtifactDir, loadArtifactDir } from '../runtime/artifact-node.js';
import type { Graph } from '../ir/graph.js';
import type { ManifestProgram, ManifestWeights } from '../runtime/manifest.js';
import type { ManifestSegments } from '../runtime/manifest-segments.js';
import type { BufferRole, Program } from '../runtime/program.js';
import type { SegmentedProgram } from '../runtime/segmented.js';
import { reflectKernel } from '../runtime/reflect.js';
import { describeEntry } from './run-io.js';

/** The quantized weight storages `kiln inspect` totals: the values' label suffix, their parameters', and how the line reads. */
const QUANTIZED_WEIGHTS = [
  { values: 'int8', params: ['scale'], title: 'int8', storedAs: 'int8', paramsAre: 'per-channel scales' },
  { values: 'codes', params: ['scales', 'zeros'], title: 'blockwise', storedAs: '2- to 8-bit codes', paramsAre: 'block scales and zero points' },
] as const;

const bytes = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`);

export const inspectCommand = {
  summary: 'summarise a compiled artifact: inputs, outputs, kernels, memory, what a device needs',
  usage: [
    'Usage: kiln inspect ARTIFACT [--json]',
    '',
    'Validates ARTIFACT (a folder written by kiln compile -o) as the runtime would, without a GPU,',
    'and prints its model, inputs and outputs, and for each variant (e.g. f16 and its f32',
    'fallback) every kernel with its dispatch count, workgroup size and bindings, the bytes of',
    'weights and intermediates, and the WebGPU features and limits a device needs to run it;',
    'then every dispatch in run order with its label (the node it computes) and kernel.',
    '',
    'Options:',
    '  --json   print the same as one JSON object',
  ].join('\n'),
  options: { json: { type: 'boolean' as const } },
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length !== 1) throw new UsageError(`kiln inspect takes one ARTIFACT, got ${positionals.length}`);
    const dir = positionals[0]!;
    if (!(await isArtifactDir(dir))) throw new KilnError(notAnArtifact(dir));
    const artifact = await loadArtifactDir(dir);
    console.log(values.json ? JSON.stringify(artifactJson(dir, artifact), null, 2) : describeArtifact(dir, artifact));
    return 0;
  },
};

/** Why `path` cannot be inspected, and what to run instead: a model file is compiled first. */
function notAnArtifact(path: string): string {
  if (/\.(onnx|kir|[cm]?[jt]s)$/i.test(path)) {
    const out = `${basename(path).replace(/\.[^.]+$/, '')}.kiln`;
    return `${path} is a model, not a kiln artifact: compile it first (kiln compile ${path} -o ${out}; then kiln inspect ${out}), or see its graph with kiln ir ${path} and its kernel counts with kiln compile ${path} --stats`;
  }
  return `${path} is not a kiln artifact (a folder with manifest.json, written by kiln compile MODEL -o ${path})`;
}

/** The human summary `kiln inspect` prints: the model, then each variant (one section each when there are several). */
export function describeArtifact(dir: string, { manifest, variants }: LoadedArtifact): string {
  const lines: string[] = [];
  const { compiler } = manifest;
  lines.push(`artifact  ${dir}  (format ${manifest.format} v${manifest.formatVersion}, compiled by ${compiler.name} ${compiler.version}, pipeline ${compiler.pipeline})`);
  lines.push(`model     ${manifest.model}`);
  lines.push('inputs', ...manifest.inputs.map(tensor));
  lines.push('outputs', ...manifest.outputs.map(tensor));
  // Sequence and optional inputs and outputs of the model, made of the tensors above.
  const structured = [...manifest.layout?.inputs ?? [], ...manifest.layout?.outputs ?? []].filter((e) => e.kind !== 'tensor');
  if (structured.length) lines.push('sequences and optionals', ...structured.map((e) => `  ${describeEntry(e)}`));
  const sizes = variants[0]?.program?.sizes;
  if (sizes?.length) lines.push(`sizes     ${describeSizes(sizes)} (bound from the inputs' shapes at each run)`);
  if (variants.length === 1 && manifest.variants.length === 1) {
    lines.push(`precision ${variants[0]!.precision}`);
    lines.push(...describeVariant(variants[0]!));
  } else {
    lines.push(`variants  ${manifest.variants.map((v) => v.precision).join(', then ')} (a runtime loads the first its device can run)`);
    for (const v of variants) {
      const needs = v.spec.requires.features.length ? `needs ${v.spec.requires.features.join(', ')}` : 'needs no optional feature';
      lines.push('', `[variant ${v.index}: ${v.precision}, ${needs}]`, ...describeVariant(v));
    }
  }
  return lines.join('\n');
}

const tensor = (t: { name: string; dtype: Parameters<typeof formatShapeType>[0]; shape: readonly number[]; dims?: readonly (number | string)[] }) =>
  `  ${t.name.padEnd(16)} ${t.dims ? `${t.dtype}[${t.dims.join(',')}] (buffers for [${t.shape.join(',')}])` : formatShapeType(t.dtype, t.shape)}`;

/** One variant: kernels, memory, what a device needs, IR kept; or its segments, each on its device. */
function describeVariant(v: LoadedVariant): string[] {
  const { spec } = v;
  const parts = v.segmented ? describeSegments(v.segmented, spec.segments!) : describeProgram(v.program, spec.program!, spec.weights!);
  const lines = [...parts.head];
  lines.push('needs');
  lines.push(`  features  ${spec.requires.features.join(', ') || 'none'}`);
  const limits = Object.entries(spec.requires.limits);
  lines.push(...table(limits.map(([k, v]) => [k, `>= ${v}`, LIMIT_MEANINGS[k] ?? ''])).map((l) => `  ${l}`));
  lines.push(...parts.tail);
  const ir = spec.ir;
  if (ir) lines.push(`ir        ${[ir.final, ir.passes?.length ? `${ir.passes.length} pass dumps in ${ir.passes[0]!.replace(/[^/]*$/, '')}` : undefined].filter(Boolean).join(', ')}`);
  return lines;
}

/**
 * A segmented variant: the segments in run order, a WebGPU one described as a program is, a CPU
 * one by its ops and the values it takes and gives; then the transfers between them.
 */
function describeSegments(p: SegmentedProgram, spec: ManifestSegments): { head: string[]; tail: string[] } {
  const cpu = p.segments.filter((s) => s.device === 'cpu').length;
  const head = [`segments  ${p.segments.length} in run order (${cpu} on the CPU, run by the reference executor), ${p.transfers} transfer${p.transfers === 1 ? '' : 's'} per run`];
  const tail: string[] = [];
  p.segments.forEach((s, i) => {
    const m = spec.list[i]!;
    if (s.device === 'webgpu' && m.device === 'webgpu') {
      const part = describeProgram(s.program, m.program, m.weights);
      head.push('', `[segment ${i}: webgpu${s.index ? `:${s.index}` : ''}, takes ${names(s.program.inputs)}, gives ${names(s.program.outputs)}]`, ...part.head.map((l) => `  ${l}`));
      tail.push(`[segment ${i}: webgpu]`, ...part.tail.map((l) => `  ${l}`));
    } else if (s.device === 'cpu' && m.device === 'cpu') {
      head.push('', `[segment ${i}: cpu, takes ${names(s.graph.inputs)}, gives ${names(s.graph.outputs)}]`, `  ops       ${cpuOps(s.graph).join(', ')}`);
      if (m.constants) head.push(`  ${m.constants.file}: ${m.tensors.length} constant${m.tensors.length === 1 ? '' : 's'}, ${m.constants.bytes} bytes, sha256 ${m.constants.sha256}`);
    }
  });
  const moved = Object.entries(p.aliases);
  if (moved.length) head.push('', 'transfers', ...moved.map(([to, from]) => `  %${from} -> %${to}`));
  return { head, tail };
}

const names = (vs: readonly { name: string }[]) => (vs.length ? vs.map((v) => `%${v.name}`).join(', ') : 'nothing');

/** A CPU segment's ops with their counts, constants left out: `nonzero, cast x2`. */
function cpuOps(g: Graph): string[] {
  const counts = new Map<string, number>();
  for (const n of g.nodes) if (n.op !== 'const') counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  return [...counts].map(([op, k]) => (k > 1 ? `${op} x${k}` : op));
}

/** One program: kernels, memory and its weights file (head), then its dispatches (tail). */
function describeProgram(program: Program, mp: ManifestProgram, weights: ManifestWeights): { head: string[]; tail: string[] } {
  const lines: string[] = [];
  if (program.state?.length) lines.push('state (kept across runs)', ...program.state.map(tensor));
  const counts = program.kernels.map(() => 0);
  for (const d of program.dispatches) counts[d.kernel]!++;
  lines.push(`kernels   ${program.kernels.length} distinct, ${program.dispatches.length} dispatches per run`);
  const rows = program.kernels.map((k, i) => {
    const r = reflectKernel(k);
    const binds = `${r.storageCount} storage${r.uniform ? ' + uniform' : ''}`;
    return [String(i), String(counts[i]), r.workgroupSize.join('x'), binds, k.name, mp.kernels[i]!.file];
  });
  lines.push(...table([['#', 'dispatches', 'workgroup', 'bindings', 'name', 'file'], ...rows]).map((l) => `  ${l}`));

  const byRole = new Map<BufferRole, { n: number; bytes: number }>();
  for (const b of program.buffers) {
    const s = byRole.get(b.role) ?? { n: 0, bytes: 0 };
    s.n++;
    s.bytes += b.bytes;
    byRole.set(b.role, s);
  }
  const total = program.buffers.reduce((a, b) => a + b.bytes, 0);
  lines.push('memory');
  const roles = [['weight', 'weights'], ['state', 'state'], ['scratch', 'scratch'], ['input', 'inputs'], ['output', 'outputs']] as const;
  for (const [role, title] of roles) {
    const s = byRole.get(role) ?? { n: 0, bytes: 0 };
    if (role === 'state' && s.n === 0) continue;
    lines.push(`  ${title.padEnd(10)} ${bytes(s.bytes).padStart(11)} in ${s.n} buffer${s.n === 1 ? '' : 's'}`);
  }
  lines.push(`  ${'device'.padEnd(10)} ${bytes(total).padStart(11)} in all`);
  // Quantized weights are named after the weight: `<weight>.int8` and `.scale` (quantize-weights'
  // int8), `<weight>.codes`, `.scales` and `.zeros` (MatMulNBits, --weights int4).
  for (const q of QUANTIZED_WEIGHTS) {
    const values = program.buffers.filter((b) => b.role === 'weight' && b.label?.endsWith(`.${q.values}`));
    if (!values.length) continue;
    const params = new Set(values.flatMap((b) => q.params.map((p) => `${b.label!.slice(0, -q.values.length)}${p}`)));
    const paramBytes = program.buffers.filter((b) => b.role === 'weight' && params.has(b.label ?? '')).reduce((a, b) => a + b.bytes, 0);
    lines.push(`  ${q.title.padEnd(10)} ${bytes(values.reduce((a, b) => a + b.bytes, 0)).padStart(11)} in ${values.length} weight${values.length === 1 ? '' : 's'} stored as ${q.storedAs} (+ ${bytes(paramBytes)} of ${q.paramsAre}), dequantized in the kernels`);
  }
  lines.push(`  ${weights.file}: ${weights.bytes} bytes, aligned to ${weights.alignment}, sha256 ${weights.sha256}`);
  const tail = ['dispatches (in run order)'];
  // A dispatch's kernel variants follow it, each with the sizes it runs for (the first that holds).
  const runs = program.dispatches.flatMap((d, i) => [
    [String(i), program.kernels[d.kernel]!.name, d.workgroups.join('x'), d.label],
    ...(d.variants ?? []).map((v) => ['', program.kernels[v.kernel]!.name, v.workgroups.join('x'), `  instead when ${describeCondition(v.when)}`]),
  ]);
  tail.push(...table([['#', 'kernel', 'workgroups', 'label'], ...runs]).map((l) => `  ${l}`));
  return { head: lines, tail };
}

/** Rows as left-aligned columns. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => r[c]!.length))) ?? [];
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

/** What `kiln inspect --json` prints: the manifest's facts, and per variant its kernels, dispatches and memory. */
export function artifactJson(dir: string, { manifest, variants }: LoadedArtifact): Record<string, unknown> {
  return {
    artifact: dir,
    format: manifest.format,
    formatVersion: manifest.formatVersion,
    compiler: manifest.compiler,
    model: manifest.model,
    inputs: manifest.inputs,
    outputs: manifest.outputs,
    ...(manifest.layout ? { layout: manifest.layout } : {}),
    variants: variants.map((v) => ({
      index: v.index,
      precision: v.precision,
      ...(v.segmented ? segmentsJson(v.segmented, v.spec.segments!) : programJson(v.program, v.spec.program!, v.spec.weights!)),
      requires: v.spec.requires,
      ...(v.spec.ir ? { ir: v.spec.ir } : {}),
    })),
  };
}

/** A program's kernels, dispatches, memory and weights file, as `kiln inspect --json` gives them. */
function programJson(program: Program, mp: ManifestProgram, weights: ManifestWeights): Record<string, unknown> {
  const counts = program.kernels.map(() => 0);
  for (const d of program.dispatches) counts[d.kernel]!++;
  return {
    kernels: program.kernels.map((k, i) => {
      const r = reflectKernel(k);
      return { name: k.name, file: mp.kernels[i]!.file, dispatches: counts[i], workgroupSize: r.workgroupSize, storageBindings: r.storageCount, uniform: Boolean(r.uniform) };
    }),
    dispatches: program.dispatches.map((d) => ({
      kernel: program.kernels[d.kernel]!.name, label: d.label, workgroups: d.workgroups,
      ...(d.variants ? { variants: d.variants.map((v) => ({ when: v.when, kernel: program.kernels[v.kernel]!.name, workgroups: v.workgroups })) } : {}),
    })),
    memory: Object.fromEntries(['weight', 'state', 'scratch', 'input', 'output'].map((role) => {
      const bufs = program.buffers.filter((b) => b.role === role);
      return [role, { buffers: bufs.length, bytes: bufs.reduce((a, b) => a + b.bytes, 0) }];
    })),
    weights,
  };
}

/** A segmented variant's segments (a WebGPU one as programJson, a CPU one by its ops) and transfers. */
function segmentsJson(p: SegmentedProgram, spec: ManifestSegments): Record<string, unknown> {
  return {
    segments: p.segments.map((s, i) => {
      const m = spec.list[i]!;
      if (s.device === 'webgpu' && m.device === 'webgpu') {
        return { device: 'webgpu', index: s.index, inputs: s.program.inputs.map((b) => b.name), outputs: s.program.outputs.map((b) => b.name), ...programJson(s.program, m.program, m.weights) };
      }
      const g = (s as { graph: Graph }).graph;
      return {
        device: 'cpu', inputs: g.inputs.map((v) => v.name), outputs: g.outputs.map((v) => v.name),
        ops: g.nodes.filter((n) => n.op !== 'const').map((n) => n.op), ...(m.device === 'cpu' && m.constants ? { constants: m.constants } : {}),
      };
    }),
    transfers: Object.entries(p.aliases).map(([to, from]) => ({ from, to })),
  };
}
