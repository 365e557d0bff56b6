import type { GraphRecord } from '../ir/graph-record.js';
import { isDType, type DType } from '../ir/types.js';
import type { ManifestProgram, ManifestTensor, ManifestWeights } from './manifest.js';
import { arr, fail, file, int, obj, onlyKnown, sha, show, str, word } from './manifest-fields.js';
import { parseProgram } from './manifest-program.js';

// A variant placed on several devices (a model with ops that run on the CPU: NonZero, NMS, ...):
// its segments in execution order, as the manifest's `segments` field stores them. A WebGPU
// segment is a program with its own weights file; a CPU segment is its graph as a GraphRecord
// (src/ir/graph-record.ts: the runtime rebuilds it without the IR parser) with its constants'
// contents in a file of their own. Values cross between segments by name, through the graph's
// transfers (`aliases`). The field has its own version, so that it can change without touching
// the one-program layout.

/** The layout of the `segments` field this kiln writes and reads. */
export const SEGMENTS_VERSION = 1;

/** Where a CPU segment's constant tensor `k` lies in its constants file. */
export interface ManifestConstant {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly offset: number;
}

export type ManifestSegment =
  | { readonly device: 'webgpu'; readonly index: number; readonly weights: ManifestWeights; readonly program: ManifestProgram }
  | {
    readonly device: 'cpu';
    readonly graph: GraphRecord;
    /** The file holding the contents of the graph's tensor attributes (absent: it has none). */
    readonly constants?: ManifestWeights;
    /** Tensor `k` of the graph's record: its dtype, shape and place in `constants`. */
    readonly tensors: readonly ManifestConstant[];
  };

export interface ManifestSegments {
  readonly version: typeof SEGMENTS_VERSION;
  /** The model's inputs and outputs as the segments take and give them. */
  readonly inputs: readonly ManifestTensor[];
  readonly outputs: readonly ManifestTensor[];
  /** In execution order. */
  readonly list: readonly ManifestSegment[];
  /** Result of a transfer -> the name of the value it moves. */
  readonly aliases: Readonly<Record<string, string>>;
  /** How many transfers one run makes. */
  readonly transfers: number;
}

const SEGMENTS_FIELDS = new Set(['version', 'inputs', 'outputs', 'list', 'aliases', 'transfers']);
const GPU_FIELDS = new Set(['device', 'index', 'weights', 'program']);
const CPU_FIELDS = new Set(['device', 'graph', 'constants', 'tensors']);

/** Parses and checks a variant's `segments` field at `at`; `tensor` parses one ManifestTensor. */
export function parseSegments(v: unknown, at: string, tensor: (x: unknown, path: string) => ManifestTensor): ManifestSegments {
  const s = obj(v, at);
  if (s.version !== SEGMENTS_VERSION) {
    fail(`${at}.version is ${show(s.version)}; this runtime reads segments version ${SEGMENTS_VERSION} (load it with the kiln that wrote it, or recompile)`);
  }
  onlyKnown(s, SEGMENTS_FIELDS, at);
  const list = arr(s.list, `${at}.list`, (x, path) => segment(x, path));
  if (list.length === 0) fail(`${at}.list is empty`);
  const aliases = obj(s.aliases, `${at}.aliases`);
  return {
    version: SEGMENTS_VERSION,
    inputs: arr(s.inputs, `${at}.inputs`, tensor),
    outputs: arr(s.outputs, `${at}.outputs`, tensor),
    list,
    aliases: Object.fromEntries(Object.entries(aliases).map(([k, x]) => [k, str(x, `${at}.aliases.${k}`)])),
    transfers: int(s.transfers, `${at}.transfers`),
  };
}

export function parseWeights(v: unknown, at: string): ManifestWeights {
  const w = obj(v, at);
  return { file: file(w.file, `${at}.file`), bytes: int(w.bytes, `${at}.bytes`), sha256: sha(w.sha256, `${at}.sha256`), alignment: int(w.alignment, `${at}.alignment`) };
}

function segment(x: unknown, at: string): ManifestSegment {
  const s = obj(x, at);
  if (s.device === 'webgpu') {
    onlyKnown(s, GPU_FIELDS, at);
    return { device: 'webgpu', index: int(s.index, `${at}.index`), weights: parseWeights(s.weights, `${at}.weights`), program: parseProgram(s.program, `${at}.program`) };
  }
  if (s.device !== 'cpu') fail(`${at}.device must be 'webgpu' or 'cpu', got ${show(s.device)}`);
  onlyKnown(s, CPU_FIELDS, at);
  const tensors = arr(s.tensors, `${at}.tensors`, (y, path) => {
    const t = obj(y, path);
    const dtype = str(t.dtype, `${path}.dtype`);
    if (!isDType(dtype)) fail(`${path}.dtype '${dtype}' is not a kiln dtype`);
    return { dtype: dtype as DType, shape: arr(t.shape, `${path}.shape`, int), offset: int(t.offset, `${path}.offset`) };
  });
  if (tensors.length && s.constants === undefined) fail(`${at} lists ${tensors.length} constant tensor(s) but no constants file`);
  return {
    device: 'cpu',
    graph: graphRecord(s.graph, `${at}.graph`),
    ...(s.constants === undefined ? {} : { constants: parseWeights(s.constants, `${at}.constants`) }),
    tensors,
  };
}

/**
 * A graph record's structure, checked as far as JSON goes (names, lists, tagged attributes);
 * graphFromRecord then checks it as a graph, every node's types inferred again.
 */
function graphRecord(x: unknown, at: string): GraphRecord {
  const g = obj(x, at);
  const typed = (y: unknown, path: string) => {
    const v = obj(y, path);
    const t = obj(v.type, `${path}.type`);
    return {
      name: str(v.name, `${path}.name`),
      type: {
        dtype: str(t.dtype, `${path}.type.dtype`) as DType, shape: arr(t.shape, `${path}.type.shape`, int),
        device: str(t.device, `${path}.type.device`) as 'cpu',
        ...(t.dims === undefined ? {} : { dims: arr(t.dims, `${path}.type.dims`, word) }),
      },
    };
  };
  const number = (y: unknown, path: string) => (typeof y === 'string' ? y : word(y, path));
  const attr = (y: unknown, path: string): GraphRecord['nodes'][number]['attrs'][string] => {
    const a = obj(y, path);
    const [key, ...more] = Object.keys(a);
    if (key === undefined || more.length) fail(`${path} must have one of the keys n, s, b, ns, t, g; got ${show(a)}`);
    switch (key) {
      case 'n': return { n: number(a.n, `${path}.n`) };
      case 's': return { s: str(a.s, `${path}.s`) };
      case 'b': if (typeof a.b !== 'boolean') fail(`${path}.b must be true or false`); return { b: a.b as boolean };
      case 'ns': return { ns: arr(a.ns, `${path}.ns`, number) };
      case 't': return { t: int(a.t, `${path}.t`) };
      case 'g': return { g: graphRecord(a.g, `${path}.g`) };
      default: return fail(`${path} has the unknown key '${key}'`);
    }
  };
  return {
    name: str(g.name, `${at}.name`),
    ...(g.sizes === undefined ? {} : {
      sizes: arr(g.sizes, `${at}.sizes`, (y, path) => {
        const v = obj(y, path);
        return { name: str(v.name, `${path}.name`), min: int(v.min, `${path}.min`), max: int(v.max, `${path}.max`) };
      }),
    }),
    inputs: arr(g.inputs, `${at}.inputs`, typed),
    nodes: arr(g.nodes, `${at}.nodes`, (y, path) => {
      const n = obj(y, path);
      const attrs = obj(n.attrs, `${path}.attrs`);
      return {
        op: str(n.op, `${path}.op`),
        inputs: arr(n.inputs, `${path}.inputs`, str),
        outputs: arr(n.outputs, `${path}.outputs`, typed),
        attrs: Object.fromEntries(Object.entries(attrs).map(([k, a]) => [k, attr(a, `${path}.attrs.${k}`)])),
      };
    }),
    outputs: arr(g.outputs, `${at}.outputs`, str),
  };
}
