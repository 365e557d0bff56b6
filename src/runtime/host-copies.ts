// Copies of runs' input bytes, reused from run to run.
//
// A run copies its caller's input bytes when it is asked for, since it uploads them later (in a
// microtask, or after the runs queued before it) and the caller may refill its arrays meanwhile.
// Allocating an ArrayBuffer for that copy costs far more than the copy itself: on Node, 0.3 ms
// for PP-OCR cls's 110 KB input against about 0.001 ms to copy it into a buffer allocated
// before, 8% of that model's warm run. writeBuffer copies what it is given, so a copy is free
// again once its run has uploaded it: a session running one run at a time reuses one per input.

/** Free copies kept per byte length: as many as runs commonly queued at once. */
const KEEP_PER_LENGTH = 4;

/** A pool of byte buffers holding copies of input bytes until their run uploads them. */
export class HostCopies {
  private readonly free = new Map<number, Uint8Array[]>();

  /** A copy of `view`'s bytes, in a free buffer of the pool's when one has its length. */
  copy(view: ArrayBufferView): Uint8Array {
    const src = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const dst = this.free.get(src.byteLength)?.pop() ?? new Uint8Array(src.byteLength);
    dst.set(src);
    return dst;
  }

  /** Takes back copies whose bytes were uploaded (or will never be), for later runs to reuse. */
  release(copies: Iterable<Uint8Array>): void {
    for (const c of copies) {
      let list = this.free.get(c.byteLength);
      if (!list) this.free.set(c.byteLength, (list = []));
      if (list.length < KEEP_PER_LENGTH) list.push(c);
    }
  }

  /** Lets go of every free copy. */
  clear(): void {
    this.free.clear();
  }
}
