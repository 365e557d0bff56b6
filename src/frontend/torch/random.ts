/**
 * A small seedable generator (mulberry32) for weight initialisation and random inputs,
 * so that examples and tests are reproducible.
 */
export class Random {
  private state: number;

  constructor(seed = 0) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** The generator layers draw their initial weights from, like torch's default generator. */
export const defaultRandom = { current: new Random(0) };

/** Reseeds the default generator, like `torch.manual_seed`. */
export function manualSeed(seed: number): void {
  defaultRandom.current = new Random(seed);
}
