import { KilnError } from '../ir/errors.js';

// Which program serves a set of input shapes, for a model compiled on the fly (an ONNX model
// with symbolic input dimensions). Its first set of shapes is compiled at fixed sizes, whose
// kernels are the fastest. Once a set with other extents arrives the model evidently takes
// varying shapes, and the extents that have differed are compiled as sizes over ranges up to the
// next power of two of the largest seen, so that one program serves every size up to it and a
// larger one costs one more program (as torch.compile's automatic dynamic shapes do). Where the
// kernels need an extent to be a multiple of a step (a detector whose feature maps halve five
// times), the sizes are tried again as multiples of the largest power of two up to 32 that
// divides every extent seen. One
// program per set of shapes would cost a compile for every new size (on lavapipe, seconds of
// shader compilation: a text recogniser is fed a new width for every line of text) and keep
// each program's buffers. A model whose kernels cannot take varying sizes is compiled per set
// of shapes, as before. Where ranges over every extent that has varied are refused, the extents
// that changed from the run before are tried alone (a decoder's prompt and its one-token steps
// differ in sequence length, but the steps differ only in their cache's length).

/** The shapes a program is compiled for, by input: extents, or sizes over ranges (`'W<=512'`). */
export type ShapeSpec = Readonly<Record<string, readonly (number | string)[]>>;

/** A run's input shapes, by input name. */
export type FeedShapes = Readonly<Record<string, readonly number[]>>;

/**
 * 'auto' (the default): fixed sizes for the first set of shapes, ranges once shapes vary; true:
 * ranges over every open dimension from the first run; false: one program per set of shapes.
 */
export type DynamicShapes = 'auto' | boolean;

export interface ShapeProgramsOptions<P> {
  /** The model's inputs as declared: each dimension fixed (a number) or open (its symbol, or -1). */
  readonly inputs: readonly { readonly name: string; readonly dims: readonly (number | string)[] }[];
  readonly compile: (spec: ShapeSpec) => Promise<P>;
  /** Whether a program over ranges takes these shapes (each size within its range). */
  readonly serves: (program: P, shapes: FeedShapes) => boolean;
  /** Frees a program compiled over ranges that turns out not to serve the shapes it was made for. */
  readonly release: (program: P) => void;
  readonly dynamic?: DynamicShapes;
  /** Told once when the model's kernels cannot take varying sizes, with the compiler's reason. */
  readonly warn?: (message: string) => void;
  /**
   * Programs of fixed shapes kept at most (default 8): past it, the least recently used one not
   * running is released, so that a long-running session fed ever new shapes (a model refusing
   * ranges, or dynamic: false) does not keep every program's buffers.
   */
  readonly maxFixedPrograms?: number;
}

/** An open dimension of one input. */
interface OpenDim {
  readonly input: string;
  readonly index: number;
  /** The model's symbol for it, when it has one: dimensions sharing a symbol share a size. */
  readonly symbol: string | undefined;
}

export class ShapePrograms<P extends object> {
  /** Programs by the spec they were compiled for (fixed shapes, or ranges). */
  private readonly bySpec = new Map<string, Promise<P>>();
  /** Programs over ranges, in the order compiled, once compiled. */
  private readonly ranged: P[] = [];
  private readonly open: OpenDim[];
  /** Every value each open dimension has been fed, by `input:index`. */
  private readonly seen = new Map<string, Set<number>>();
  /** Symbols fed different values for different dimensions in one run: those get a size each. */
  private readonly split = new Set<string>();
  /** Why the model's kernels cannot take varying sizes, once a compile over ranges failed. */
  private refused: string | undefined;
  /** The sets of varying dimensions whose compile over ranges failed, by key. */
  private readonly refusedSets = new Set<string>();
  /** The shapes of the run before, whose differences from a run's make its local variation. */
  private last: FeedShapes | undefined;
  /** Set once sizes over ranges compiled only as multiples of a step: later ranges start there. */
  private stepped = false;
  /** The fixed-shape programs compiled, by spec key, least recently used first. */
  private readonly fixed = new Map<string, P>();
  /** Runs in progress on each program. */
  private readonly running = new Map<P, number>();
  /** Programs released by evict (a run that picked one just before is given another). */
  private readonly evicted = new WeakSet<P>();

  constructor(private readonly opts: ShapeProgramsOptions<P>) {
    this.open = opts.inputs.flatMap((i) => i.dims.flatMap((d, index) => (typeof d === 'number' && d >= 0 ? [] : [{ input: i.name, index, symbol: typeof d === 'string' ? d : undefined }])));
  }

  /** Every program compiled or being compiled. */
  all(): Promise<P>[] {
    return [...this.bySpec.values()];
  }

  /** Compiles for a spec the caller gives (the session's inputShapes), before any run. */
  compileSpec(spec: ShapeSpec): Promise<P> {
    const isRanged = Object.values(spec).some((dims) => dims.some((d) => typeof d === 'string'));
    return this.compileOnce(spec, (p) => {
      if (isRanged) this.ranged.push(p);
    });
  }

  /** Runs `work` on the program for `shapes` (see programFor); a program is not released while it runs. */
  async run<T>(shapes: FeedShapes, work: (program: P) => Promise<T>): Promise<T> {
    let program = await this.programFor(shapes);
    // Another run ending while this one awaited its program may have released it.
    while (this.evicted.has(program)) program = await this.programFor(shapes);
    this.running.set(program, (this.running.get(program) ?? 0) + 1);
    try {
      return await work(program);
    } finally {
      const left = this.running.get(program)! - 1;
      if (left) this.running.set(program, left);
      else this.running.delete(program);
      this.evict();
    }
  }

  /** The program for a run's shapes: one that serves them, or a new one (see above). */
  async programFor(shapes: FeedShapes): Promise<P> {
    try {
      return await this.programForShapes(shapes);
    } finally {
      this.last = shapes;
    }
  }

  private async programForShapes(shapes: FeedShapes): Promise<P> {
    const key = specKey(shapes);
    const exact = this.bySpec.get(key);
    if (exact) {
      // Most recently used last.
      const p = this.fixed.get(key);
      if (p !== undefined) {
        this.fixed.delete(key);
        this.fixed.set(key, p);
      }
      return exact;
    }
    this.record(shapes);
    const serving = this.ranged.find((p) => this.opts.serves(p, shapes));
    if (serving) return serving;
    const varying = this.varyingFor(shapes);
    if (!varying) return this.compileOnce(shapes);
    let spec = this.rangesFor(shapes, varying, this.stepped);
    let program: P;
    try {
      program = await this.compileOnce(spec);
    } catch (e) {
      // Ranges that need an input's value (an If whose branches fit only some sizes) are the
      // caller's to retry with it (value-programs.ts), not a refusal of ranges.
      if (neededInputs(e)) throw e;
      const stepped = this.stepped ? undefined : this.rangesFor(shapes, varying, true);
      if (!stepped || specKey(stepped) === specKey(spec)) return this.fixedInstead(shapes, varying, (e as Error).message);
      try {
        program = await this.compileOnce((spec = stepped));
        this.stepped = true;
      } catch {
        return this.fixedInstead(shapes, varying, (e as Error).message);
      }
    }
    if (this.opts.serves(program, shapes)) {
      if (!this.ranged.includes(program)) this.ranged.push(program);
      return program;
    }
    // E.g. a program with CPU segments, whose sizes the session does not check ahead.
    this.bySpec.delete(specKey(spec));
    this.opts.release(program);
    return this.fixedInstead(shapes, varying, 'its program over ranges does not take varying input shapes');
  }

  /**
   * Compiles `shapes` at fixed sizes after a compile over ranges of the `varying` dimensions
   * failed; those ranges are not tried again once that works.
   */
  private async fixedInstead(shapes: FeedShapes, varying: readonly OpenDim[], reason: string): Promise<P> {
    // A fixed compile failing too is the user's error (a wrong rank or extent): it says so, and ranges stay on.
    const program = await this.compileOnce(shapes);
    this.refusedSets.add(dimsKey(varying));
    if (this.refused === undefined) {
      this.refused = reason;
      this.opts.warn?.(`kiln: the model is compiled once per set of input shapes where its kernels cannot take the sizes that vary: ${reason}`);
    }
    return program;
  }

  private compileOnce(spec: ShapeSpec, then?: (p: P) => void): Promise<P> {
    const key = specKey(spec);
    let program = this.bySpec.get(key);
    if (!program) {
      program = this.opts.compile(spec);
      this.bySpec.set(key, program);
      const isFixed = Object.values(spec).every((dims) => dims.every((d) => typeof d === 'number'));
      program.then((p) => {
        if (isFixed) this.fixed.set(key, p);
        then?.(p);
      }, () => this.bySpec.delete(key));
    }
    return program;
  }

  /** Releases the least recently used fixed-shape programs not running, down to maxFixedPrograms. */
  private evict(): void {
    const max = this.opts.maxFixedPrograms ?? 8;
    for (const [key, p] of this.fixed) {
      if (this.fixed.size <= max) return;
      if (this.running.has(p)) continue;
      this.fixed.delete(key);
      this.bySpec.delete(key);
      this.evicted.add(p);
      this.opts.release(p);
    }
  }

  private record(shapes: FeedShapes): void {
    const bySymbol = new Map<string, number>();
    for (const d of this.open) {
      const n = shapes[d.input]?.[d.index];
      if (n === undefined) continue;
      const key = `${d.input}:${d.index}`;
      if (!this.seen.has(key)) this.seen.set(key, new Set());
      this.seen.get(key)!.add(n);
      if (d.symbol === undefined) continue;
      if (bySymbol.has(d.symbol) && bySymbol.get(d.symbol) !== n) this.split.add(d.symbol);
      bySymbol.set(d.symbol, n);
    }
  }

  /**
   * The open dimensions to compile over ranges for these shapes: each that has taken more than
   * one value (every open one when `dynamic` is true), or, where ranges over those were refused,
   * those that differ from the run before; undefined when the shapes are to be compiled as they are.
   */
  private varyingFor(shapes: FeedShapes): OpenDim[] | undefined {
    const dynamic = this.opts.dynamic ?? 'auto';
    if (dynamic === false) return undefined;
    const seen = this.open.filter((d) => dynamic === true || (this.seen.get(`${d.input}:${d.index}`)?.size ?? 0) > 1);
    if (seen.length && !this.refusedSets.has(dimsKey(seen))) return seen;
    const last = this.last;
    const changed = last ? this.open.filter((d) => last[d.input]?.[d.index] !== shapes[d.input]?.[d.index]) : [];
    return changed.length && !this.refusedSets.has(dimsKey(changed)) ? changed : undefined;
  }

  /**
   * The spec over ranges for these shapes: each `varying` dimension a size up to the next power
   * of two of the largest value seen, `stepped`: a multiple of a step; the others as fed.
   */
  private rangesFor(shapes: FeedShapes, varying: readonly OpenDim[], stepped: boolean): ShapeSpec {
    const nameOf = (d: OpenDim) => (d.symbol !== undefined && !this.split.has(d.symbol) ? `s:${d.symbol}` : `d:${d.input}:${d.index}`);
    const names = new SizeNames();
    const largest = new Map<string, number>();
    const step = new Map<string, number>();
    for (const d of varying) {
      const name = nameOf(d);
      const values = [...this.seen.get(`${d.input}:${d.index}`)!];
      largest.set(name, Math.max(largest.get(name) ?? 0, ...values));
      step.set(name, Math.min(step.get(name) ?? MAX_STEP, ...values.map(powerOfTwoFactor)));
    }
    const spec: Record<string, (number | string)[]> = {};
    for (const [input, dims] of Object.entries(shapes)) {
      spec[input] = dims.map((n, index) => {
        const d = varying.find((v) => v.input === input && v.index === index);
        if (!d) return n;
        const name = nameOf(d);
        const size = `${names.get(name, d.symbol ?? `${input}_${index}`)}<=${nextPowerOfTwo(largest.get(name)!)}`;
        return stepped && step.get(name)! > 1 ? `${step.get(name)}*${size}` : size;
      });
    }
    return spec;
  }
}

/**
 * The inputs an InputValuesNeededError names: the compiler's error, known here by its shape
 * (the runtime does not import the compiler).
 */
export function neededInputs(e: unknown): readonly string[] | undefined {
  const inputs = (e as { inputs?: unknown }).inputs;
  return e instanceof Error && e.name === 'InputValuesNeededError' && Array.isArray(inputs) ? (inputs as string[]) : undefined;
}

/** Size names as the shape syntax takes them (identifiers), one per key, made from the model's symbols. */
class SizeNames {
  private readonly names = new Map<string, string>();
  private readonly used = new Set<string>();

  get(key: string, hint: string): string {
    let name = this.names.get(key);
    if (name) return name;
    const base = hint.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=[0-9]|$)/, '_');
    name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.names.set(key, name);
    this.used.add(name);
    return name;
  }
}

/** The largest step tried: the total stride of common detectors and segmenters. */
const MAX_STEP = 32;

/** The largest power of two dividing n, up to MAX_STEP (MAX_STEP for 0). */
function powerOfTwoFactor(n: number): number {
  let f = 1;
  while (f < MAX_STEP && n % (2 * f) === 0) f *= 2;
  return f;
}

function nextPowerOfTwo(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new KilnError(`an input extent of ${n} is not a size`);
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** A key of a set of open dimensions. */
function dimsKey(dims: readonly OpenDim[]): string {
  return dims.map((d) => `${d.input}:${d.index}`).sort().join(' ');
}

function specKey(spec: ShapeSpec): string {
  return JSON.stringify(Object.keys(spec).sort().map((k) => [k, spec[k]]));
}
