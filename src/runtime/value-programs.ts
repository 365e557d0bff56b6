import type { TensorData } from '../ir/tensor-data.js';
import { neededInputs, type FeedShapes, type ShapePrograms, type ShapeSpec } from './shape-programs.js';

// The programs of an ONNX model compiled on the fly, when some of its inputs decide shapes or
// parameters: Silero VAD's sample rate picks an If branch whose other side does not fit the
// chunk fed; a Resize's scales or a TopK's k may be inputs too. kiln compiles static shapes and
// parameters, so such inputs are compiled in as constants, and a program serves only the feeds
// whose values it was compiled for (as kiln run binds them from its --input files). Which inputs
// these are the compiler says at the first compile (an InputValuesNeededError naming them); each
// set of their values then has its own ShapePrograms. A model that needs none has one set.

/** The values of the inputs compiled in as constants, by input name. */
export type FeedValues = Readonly<Record<string, TensorData>>;

export interface ValueProgramsOptions<P extends object> {
  /** The programs of one set of values (empty while no input is known to be needed). */
  readonly programs: (values: FeedValues) => ShapePrograms<P>;
  /** A spec to compile ahead for each set of values (the session's complete inputShapes). */
  readonly ahead?: ShapeSpec;
  /** Sets of values kept at most (default 8): past it, the least recently used idle set is released. */
  readonly maxValueSets?: number;
  readonly release: (program: P) => void;
}

interface ValueSet<P extends object> {
  readonly programs: ShapePrograms<P>;
  /** Runs using the set (compiling for it, or running on one of its programs). */
  active: number;
  /** Compiling `ahead` for the set, started when it was made. */
  readonly ready: Promise<unknown>;
}

export class ValuePrograms<P extends object> {
  /** The inputs compiled in as constants, in the order the compiler asked for them. */
  private readonly inputs: string[] = [];
  /** Sets by their values' key, least recently used first. */
  private readonly sets = new Map<string, ValueSet<P>>();

  constructor(private readonly opts: ValueProgramsOptions<P>) {}

  /** The inputs compiled in as constants so far. */
  get constantInputs(): readonly string[] {
    return this.inputs;
  }

  /**
   * Compiles `ahead` before any run, where no input needs a value: a model that needs some
   * learns which here and compiles at its first run, when their values are fed.
   */
  async prepare(): Promise<void> {
    if (!this.opts.ahead) return;
    try {
      await this.setFor({}).ready;
    } catch (e) {
      const needed = neededInputs(e);
      if (!needed) throw e;
      this.learn(needed);
    }
  }

  /** Runs `work` on the program for these feeds' values and shapes, learning the inputs to compile in as it goes. */
  async run<T>(feeds: FeedValues, shapes: FeedShapes, work: (program: P) => Promise<T>): Promise<T> {
    for (;;) {
      const set = this.setFor(Object.fromEntries(this.inputs.map((n) => [n, feeds[n]!])));
      set.active++;
      let needed: readonly string[] | undefined;
      try {
        await set.ready;
        return await set.programs.run(shapes, work);
      } catch (e) {
        needed = neededInputs(e);
        // Values the feeds cannot give (an input missing) are the compiler's error to report.
        if (!needed || needed.some((n) => this.inputs.includes(n) || !(n in feeds))) throw e;
      } finally {
        set.active--;
        this.evict();
      }
      this.learn(needed);
    }
  }

  /** Every program compiled or being compiled. */
  all(): Promise<P>[] {
    return [...this.sets.values()].flatMap((s) => s.programs.all());
  }

  private learn(needed: readonly string[]): void {
    this.inputs.push(...needed);
    // The sets made before these inputs were known compiled nothing that serves.
    for (const [key, set] of this.sets) if (!set.active) this.drop(key);
  }

  private setFor(values: FeedValues): ValueSet<P> {
    const key = valuesKey(values);
    let set = this.sets.get(key);
    if (set) this.sets.delete(key);
    else {
      const programs = this.opts.programs(values);
      const ready = this.opts.ahead ? programs.compileSpec(this.opts.ahead) : Promise.resolve();
      ready.catch(() => undefined);
      set = { programs, active: 0, ready };
    }
    // Most recently used last.
    this.sets.set(key, set);
    return set;
  }

  /** Releases the least recently used idle sets, down to maxValueSets. */
  private evict(): void {
    const max = this.opts.maxValueSets ?? 8;
    for (const [key, set] of this.sets) {
      if (this.sets.size <= max) return;
      if (!set.active) this.drop(key);
    }
  }

  private drop(key: string): void {
    const set = this.sets.get(key);
    this.sets.delete(key);
    for (const p of set?.programs.all() ?? []) p.then(this.opts.release, () => undefined);
  }
}

function valuesKey(values: FeedValues): string {
  return JSON.stringify(Object.keys(values).map((k) => [k, values[k]!.shape, Array.from(values[k]!.data as ArrayLike<number>, Number)]));
}
