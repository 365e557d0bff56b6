// Staging buffers of the session's own for large input uploads, mapped and reused run to run.
//
// queue.writeBuffer stages its bytes in Dawn's upload ring, and a write the ring has no room for
// gets staging memory of its own, new each time. On lavapipe that memory is fresh pages: measured
// at 0.3-0.6 GB/s, against 30 GB/s for a write that fits. matmul 1024^3 writes two 4 MiB inputs a
// run: the first took 0.28 ms, the second 12-13 ms of the main thread; PP-OCRv4 det's one
// 4.7 MiB input 15 ms. Writes of 1 MiB and less (cls's 108 KiB, a decoder's two dozen 370 KiB
// caches) measured fast. So an input of at least STAGED_MIN_BYTES is copied into a mapped buffer
// kept for the purpose, which a copy command, submitted with the run, moves into the input's
// buffer: memory touched before, no page to fault in.

/** Inputs at least this large are uploaded through the session's staging buffers. */
export const STAGED_MIN_BYTES = 2 ** 20;
/**
 * Buffers kept per byte length: for a run's inputs of one length (matmul's A and B), and the
 * next run's, should it upload before the first run's buffers are mapped again.
 */
const KEEP_PER_LENGTH = 4;

/** A pool of MAP_WRITE staging buffers by byte length; each serves one upload, then maps again. */
export class UploadStaging {
  private readonly mapped = new Map<number, GPUBuffer[]>();
  /** Buffers handed out since the last `remap`, unmapped, their copies submitted or about to be. */
  private used: GPUBuffer[] = [];
  /** Buffers made per byte length and not dropped: mapped, handed out, or mapping again. */
  private readonly count = new Map<number, number>();
  private closed = false;

  constructor(private readonly device: GPUDevice, private readonly label: string) {}

  /**
   * Copies `bytes` into a staging buffer and encodes the copy from it into `dst` (at offset 0),
   * or returns false when `bytes` is small (writeBuffer serves it well) or every buffer of its
   * length is still in use by earlier runs.
   */
  upload(encoder: () => GPUCommandEncoder, dst: GPUBuffer, bytes: ArrayBufferView): boolean {
    const n = bytes.byteLength;
    if (this.closed || n < STAGED_MIN_BYTES || n % 4 !== 0) return false;
    let buffer = this.mapped.get(n)?.pop();
    if (!buffer) {
      const made = this.count.get(n) ?? 0;
      if (made >= KEEP_PER_LENGTH) return false;
      this.count.set(n, made + 1);
      buffer = this.device.createBuffer({ size: n, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: `${this.label}:upload` });
    }
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(bytes.buffer, bytes.byteOffset, n));
    buffer.unmap();
    this.used.push(buffer);
    encoder().copyBufferToBuffer(buffer, 0, dst, 0, n);
    return true;
  }

  /**
   * Maps again every buffer handed out since the last call. Call it once their copies were
   * submitted (or will never be), when waiting for the device anyway: a mapping resolves only as
   * the device finishes the copy, and while it is pending dawn.node polls (dawn-poll.ts).
   * Resolves once they are mapped (or dropped, their device gone).
   */
  remap(): Promise<void> {
    const used = this.used;
    this.used = [];
    return Promise.all(used.map((b) => b.mapAsync(GPUMapMode.WRITE).then(
      () => {
        if (this.closed) return b.destroy();
        let list = this.mapped.get(b.size);
        if (!list) this.mapped.set(b.size, (list = []));
        list.push(b);
      },
      // Destroyed, or the device lost: the buffer is gone; a later upload makes another.
      () => {
        b.destroy();
        this.count.set(b.size, (this.count.get(b.size) ?? 1) - 1);
      },
    ))).then(() => undefined);
  }

  /** Destroys the mapped buffers, and the others as their mappings settle. */
  close(): void {
    this.closed = true;
    for (const list of this.mapped.values()) for (const b of list) b.destroy();
    this.mapped.clear();
    void this.remap();
  }
}
