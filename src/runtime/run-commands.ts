import type { LoadedProgram, StagingCopy, StateCopy } from './load.js';

// A run's commands, and encoding them while the device computes the run before.
//
// A command buffer is submitted once, so every run encodes its own: on dawn.node that is three
// native calls a dispatch, about 0.25 ms for PP-OCR cls's 36 dispatches, spent between the run's
// call and its first dispatch. Runs of a session mostly repeat the last one (same input slot,
// sizes and outputs), so once a run is submitted the next run's commands are encoded at once,
// while the device works; the next run then only uploads its inputs and submits. On lavapipe
// (2 cores) the encoding takes a core from the shader threads, so less is won than it costs
// inline. Measured there (warm medians / p10 of 200 alternating runs in one process, inline
// against ahead): the traced MLP 0.71 / 0.52 -> 0.59 / 0.51 ms, the transformer block
// 0.89 / 0.62 -> 0.88 / 0.57 ms, PP-OCR cls (150 runs) p10 4.35 -> 4.27 ms.

/** What a run's commands depend on: the loaded program (new after applySizes), its input slot and the outputs it reads back. */
export interface RunKey {
  readonly loaded: LoadedProgram;
  readonly slot: number;
  /** The outputs read back, as `readbackKey` gives them. */
  readonly outputs: string;
}

/** A RunKey's `outputs` for a run reading back `wanted` (undefined: every output). */
export function readbackKey(wanted: ReadonlySet<string> | undefined): string {
  return wanted ? [...wanted].sort().map((n) => `${n.length}:${n}`).join('') : '*';
}

function sameRun(a: RunKey, b: RunKey): boolean {
  return a.loaded === b.loaded && a.slot === b.slot && a.outputs === b.outputs;
}

/**
 * Encodes a run: the program's dispatches for input slot `slotIndex` in one compute pass, then
 * `copies` of its outputs to the staging buffer, those `kept` on the device, and its state updates.
 */
export function encodeRun(device: GPUDevice, loaded: LoadedProgram, slotIndex: number, copies: readonly StagingCopy[], label: string, kept: readonly StateCopy[] = []): GPUCommandBuffer {
  const slot = loaded.slots[slotIndex]!;
  // Buffers read through slot 0's input buffers (an output or state update that is an input) read this slot's.
  const inSlot = (b: GPUBuffer) => {
    if (slotIndex === 0) return b;
    for (const [id, own] of slot.inputs) if (loaded.buffers.get(id) === b) return own;
    return b;
  };
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  let current: GPUComputePipeline | undefined;
  for (const s of slot.steps) {
    // A dispatch over an empty extent (NonZero finding nothing) computes nothing: it is not made.
    if (s.workgroups[0] === 0 || s.workgroups[1] === 0 || s.workgroups[2] === 0) continue;
    // Consecutive dispatches of one kernel (common after deduplication) keep the pipeline bound.
    if (s.pipeline !== current) pass.setPipeline((current = s.pipeline));
    pass.setBindGroup(0, s.bindGroup);
    pass.dispatchWorkgroups(s.workgroups[0], s.workgroups[1], s.workgroups[2]);
  }
  pass.end();
  // Outputs are read before state updates overwrite anything they might alias.
  for (const c of copies) encoder.copyBufferToBuffer(inSlot(c.src), 0, loaded.staging!, c.dstOffset, c.bytes);
  for (const c of kept) encoder.copyBufferToBuffer(inSlot(c.src), 0, c.dst, 0, c.bytes);
  for (const c of loaded.stateCopies) encoder.copyBufferToBuffer(inSlot(c.src), 0, c.dst, 0, c.bytes);
  return encoder.finish();
}

/** The next run's commands, encoded while the device computes the current one. */
export class CommandsAhead {
  private next: { readonly key: RunKey; readonly commands: GPUCommandBuffer } | undefined;
  private last: RunKey | undefined;

  constructor(private readonly enabled: boolean) {}

  /** The commands of a run like `key`: those encoded ahead for it, or `encode()`'s. */
  take(key: RunKey, encode: () => GPUCommandBuffer): GPUCommandBuffer {
    const ahead = this.next;
    this.next = undefined;
    return ahead && sameRun(ahead.key, key) ? ahead.commands : encode();
  }

  /**
   * Called once a run like `key` is submitted: after a session's first run, or a run like the
   * one before it, the next run likely is alike, and its commands are encoded now. (Runs
   * alternating input slots, as with `stage`, are never alike twice running: after the first,
   * nothing is encoded in vain for them.) An encoding the device rejects is dropped, so the
   * next run encodes again and reports the error itself.
   */
  prepare(device: GPUDevice, key: RunKey, encode: () => GPUCommandBuffer, trusted = false): void {
    const repeats = this.enabled && (this.last === undefined || sameRun(this.last, key));
    this.last = key;
    if (!repeats) return;
    // Commands like those of a run that passed validation pass it too (ValidatedRun).
    if (trusted) {
      this.next = { key, commands: encode() };
      return;
    }
    device.pushErrorScope('validation');
    let ahead: CommandsAhead['next'];
    try {
      ahead = this.next = { key, commands: encode() };
    } finally {
      void device.popErrorScope().then((error) => {
        if (error && this.next === ahead) this.next = undefined;
      }, () => undefined);
    }
  }

  /** Forgets what was encoded (the program's buffers are going, or were lost with their device). */
  clear(): void {
    this.next = undefined;
    this.last = undefined;
  }
}

/** How many kinds of run ValidatedRun remembers. */
const REMEMBERED_RUNS = 4;

/**
 * The runs last seen to pass validation. A later run like one of them (the same loaded program,
 * so the same sizes; the same input slot and outputs) submits the same commands over the same
 * buffers, so it cannot fail where that one passed, and runs without an error scope: on
 * dawn.node popping one takes about 0.13 ms of the main thread, twice a run with the next run's
 * commands encoded ahead, and on a software adapter that is CPU the shader threads want. Measured
 * on lavapipe (medians of 100 alternating warm runs): PP-OCR cls 4.50 -> 4.30 ms. A few kinds are
 * remembered, so runs alternating input slots (`stage`) or outputs are trusted too. Runs that copy
 * buffers new to them (kept outputs, device-tensor inputs) are always checked.
 */
export class ValidatedRun {
  private passed: RunKey[] = [];

  /** Whether a run like `key` passed validation. */
  covers(key: RunKey): boolean {
    return this.passed.some((p) => sameRun(p, key));
  }

  /** Records how a run like `key`, made under an error scope, went (or failed without one). */
  record(key: RunKey, ok: boolean): void {
    this.passed = this.passed.filter((p) => !sameRun(p, key));
    if (ok) this.passed = [key, ...this.passed].slice(0, REMEMBERED_RUNS);
  }
}
