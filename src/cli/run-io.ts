import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { UsageError } from './errors.js';
import { join } from 'node:path';
import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { formatShapeType, shapesEqual, type DType, type Shape } from '../ir/types.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { randomTensors } from '../io/random-inputs.js';
import { assembleOutputs, isSequenceEntry, type IoEntry, type IoLayout, type IoValue } from '../runtime/io-layout.js';

// Inputs and outputs of `kiln run`: .npy files named on the command line, seeded random values,
// and one .npy file per output.

/** A named input or output as a model or artifact declares it. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  /** Extents; where `dims` is present, each one's largest value (random inputs take those). */
  readonly shape: Shape;
  /** Extents that vary from run to run, when some do: a file may hold any size in their ranges. */
  readonly dims?: readonly (number | string)[];
}

/** An `--input` file, read: NAME=FILE.npy, or FILE.npy alone (name undefined) for a model with one input. */
export interface InputFile {
  readonly name: string | undefined;
  readonly path: string;
  readonly data: TensorData;
}

/**
 * An `--input` value, read: one .npy file (a tensor), several separated by commas (a sequence:
 * NAME=A.npy,B.npy; a trailing comma makes a sequence of one), or `none` (an absent optional).
 */
export interface InputArg {
  readonly name: string | undefined;
  readonly path: string;
  readonly data: IoValue<TensorData>;
}

/** Reads every `--input` value (NAME=FILE.npy, NAME=A.npy,B.npy, NAME=none or FILE.npy); names are checked against the model later. */
export async function readInputFiles(args: readonly string[]): Promise<InputArg[]> {
  const files: InputArg[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const [name, path] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [undefined, arg];
    if (name !== undefined && files.some((f) => f.name === name)) fail(`--input gives '${name}' twice`);
    const read = async (file: string): Promise<TensorData> => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (e) {
        throw new KilnError(`--input ${name ?? path}: cannot read ${file}: ${(e as Error).message}`);
      }
      return readNpy(bytes, file);
    };
    const data = name !== undefined && path === 'none' ? null
      : path.includes(',') ? await Promise.all(path.split(',').filter((f) => f !== '').map(read)) : await read(path);
    files.push({ name, path, data });
  }
  return files;
}

/**
 * The `--input` values as the program's tensors: a sequence's files become its items, an absent
 * optional none, as the model's layout says; each must be what the model declares.
 */
export function inputFilesFor(layout: IoLayout, args: readonly InputArg[]): InputFile[] {
  return args.flatMap((a): InputFile[] => {
    const entry = layout.inputs.find((e) => e.name === a.name);
    const isList = Array.isArray(a.data);
    if (!entry || entry.kind === 'tensor') {
      if (a.data === null || isList) fail(`--input ${a.name}: '${a.name}' is a tensor input; give one .npy file`);
      return [{ name: a.name, path: a.path, data: a.data as TensorData }];
    }
    const items = a.data === null ? [] : isList ? (a.data as readonly TensorData[]) : [a.data as TensorData];
    if (items.length !== entry.items.length) fail(`--input ${a.name}: '${a.name}' was compiled with ${entry.items.length} item(s), but ${items.length} were given`);
    const files = a.path.split(',').filter((f) => f !== '');
    return entry.items.map((item, k) => ({ name: item, path: files[k] ?? a.path, data: items[k]! }));
  });
}

/**
 * The outputs to write, by file name: a tensor under its name, a sequence's items as NAME_0,
 * NAME_1, ...; an absent optional writes nothing.
 */
export function outputFiles(layout: IoLayout, outputs: Readonly<Record<string, TensorData>>): Record<string, TensorData> {
  const out: Record<string, TensorData> = {};
  for (const [name, v] of Object.entries(assembleOutputs(layout.outputs, outputs))) {
    if (v === null) continue;
    if (Array.isArray(v)) v.forEach((t, k) => { out[`${name}_${k}`] = t; });
    else out[name] = v as TensorData;
  }
  return out;
}

/** One line for each output that is a sequence or an optional: what it holds (its items print as tensors). */
export function structureLines(layout: IoLayout): string[] {
  return layout.outputs.filter((e) => e.kind !== 'tensor').map(describeEntry);
}

/** `s: a sequence of 3 tensors (s_0, s_1, s_2)`, `o: none (an optional without a value)`. */
export function describeEntry(e: IoEntry): string {
  if (e.holds === 'none') return `${e.name}: none (an optional without a value)`;
  const what = isSequenceEntry(e) ? `a sequence of ${e.items.length} tensor${e.items.length === 1 ? '' : 's'}` : 'a tensor';
  return `${e.name}: ${e.kind === 'optional' ? `an optional holding ${what}` : what}${e.items.length ? ` (${e.items.join(', ')})` : ''}`;
}

export interface InputChoice {
  /** `--input` files, read. */
  readonly files: readonly InputFile[];
  /** Fill inputs not given as files with seeded random values. */
  readonly random: boolean;
  readonly seed: number;
}

/**
 * The run's inputs: each `--input` file checked against its spec (dtype and shape), the rest
 * random when allowed. Without any `--input`, every input is random.
 */
export async function gatherInputs(specs: readonly TensorSpec[], choice: InputChoice): Promise<Record<string, TensorData>> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const signature = () => specs.map((s) => `${s.name}: ${formatShapeType(s.dtype, s.shape)}`).join(', ') || 'none';
  const given = new Map<string, TensorData>();
  for (const file of choice.files) {
    if (file.name === undefined && specs.length !== 1) throw new UsageError(`--input '${file.path}': give NAME=FILE.npy (the model's inputs: ${signature()})`);
    const name = file.name ?? specs[0]!.name;
    const spec = byName.get(name) ?? fail(`--input names '${name}', which is not an input (the model's inputs: ${signature()})`);
    if (given.has(name)) fail(`--input gives '${name}' twice`);
    const t = file.data;
    // Sizes that vary are checked against their ranges when the run binds them.
    const fits = spec.dims ? t.shape.length === spec.dims.length : shapesEqual(t.shape, spec.shape);
    if (t.dtype !== spec.dtype || !fits) {
      fail(`input '${name}' is ${spec.dims ? `${spec.dtype}[${spec.dims.join(',')}]` : formatShapeType(spec.dtype, spec.shape)} but ${file.path} holds ${formatShapeType(t.dtype, t.shape)}`);
    }
    given.set(name, t);
  }
  const missing = specs.filter((s) => !given.has(s.name));
  if (given.size > 0 && missing.length > 0 && !choice.random) {
    fail(`no --input for ${missing.map((s) => `'${s.name}' (${formatShapeType(s.dtype, s.shape)})`).join(', ')}; give them, or add --random-inputs to fill them with random values`);
  }
  // Random values are drawn for every spec in order, so a given seed gives each input the same
  // values whichever others came from files.
  const random = randomTensors(specs, choice.seed);
  return Object.fromEntries(specs.map((s) => [s.name, given.get(s.name) ?? random[s.name]!]));
}

/** Writes every output as DIR/NAME.npy (characters a file name cannot hold become '_'); returns the paths. */
export async function saveOutputs(dir: string, outputs: Readonly<Record<string, TensorData>>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const used = new Set<string>();
  const paths: string[] = [];
  for (const [name, t] of Object.entries(outputs)) {
    let base = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || 'output';
    for (let k = 2; used.has(base); k++) base = `${base}_${k}`;
    used.add(base);
    const path = join(dir, `${base}.npy`);
    await writeFile(path, writeNpy(t));
    paths.push(path);
  }
  return paths;
}

/** Timing of repeated runs: the first apart (it may pay one-off costs), then the steady state. */
export interface RunTimes {
  readonly firstMs: number;
  /** Each steady-state run, in order. */
  readonly steadyMs: readonly number[];
}

/** Runs `run` once, then `iterations` more times, timing each; returns the first run's result. */
export async function timeRuns<T>(run: () => Promise<T>, iterations: number): Promise<{ result: T; times: RunTimes }> {
  const t0 = performance.now();
  const result = await run();
  const firstMs = performance.now() - t0;
  const steadyMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await run();
    steadyMs.push(performance.now() - t);
  }
  return { result, times: { firstMs, steadyMs } };
}

/** `first run 12.30 ms, steady 1.20 ms (mean of 10; median 1.18, min 1.10)`. */
export function formatRunTimes(t: RunTimes): string {
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const n = t.steadyMs.length;
  if (n === 0) return `first run ${ms(t.firstMs)}, steady - (no --iterations)`;
  const sorted = [...t.steadyMs].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return `first run ${ms(t.firstMs)}, steady ${ms(mean)} (mean of ${n}; median ${median.toFixed(2)}, min ${sorted[0]!.toFixed(2)})`;
}

function fail(msg: string): never {
  throw new KilnError(msg);
}
