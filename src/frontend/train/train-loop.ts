import type { StagedInputs } from '../../runtime/session.js';
import type { Batch, TrainStep } from './train-step.js';

/** What one step of a training loop reports. */
export interface StepReport {
  /** Index of the step within this loop (0-based). */
  readonly index: number;
  /** The loss, on steps that read it back. */
  readonly loss?: number;
  /** With a GradScaler, whether the update was skipped (an inf/NaN gradient), on steps that read the loss back. */
  readonly skipped?: boolean;
  /** Wall time from the end of the previous step to the end of this one, in ms. */
  readonly stepMs: number;
  /** Of that, time spent waiting for this step's batch to be prepared and uploaded, in ms. */
  readonly dataWaitMs: number;
}

export interface TrainLoopOptions {
  /**
   * Ask for the next batch while the device computes the current step (default true). With false,
   * the next batch is requested only after the step finished: the no-overlap baseline.
   */
  readonly overlap?: boolean;
  /** Called after every step. */
  readonly onStep?: (r: StepReport) => void;
}

/**
 * Runs `step` once per batch of `batches`. With overlap (the default) the next batch is prepared
 * on the host and uploaded into the step's other input slot while the device runs the current
 * step; each step reports how long it waited for its data.
 */
export async function trainLoop(step: TrainStep, batches: AsyncIterable<Batch>, opts: TrainLoopOptions = {}): Promise<StepReport[]> {
  const overlap = opts.overlap ?? true;
  const it = batches[Symbol.asyncIterator]();
  const fetch = (): Promise<StagedInputs | undefined> => it.next().then((r) => (r.done ? undefined : step.stage(r.value)));
  const reports: StepReport[] = [];
  let pending = fetch();
  let last = performance.now();
  for (let index = 0; ; index++) {
    const waitStart = performance.now();
    const staged = await pending;
    const dataWaitMs = performance.now() - waitStart;
    if (!staged) break;
    const run = step.run(staged);
    if (overlap) pending = fetch();
    const { loss, skipped } = await run;
    if (!overlap) pending = fetch();
    const now = performance.now();
    const report: StepReport = { index, stepMs: now - last, dataWaitMs, ...(loss === undefined ? {} : { loss }), ...(skipped === undefined ? {} : { skipped }) };
    last = now;
    reports.push(report);
    opts.onStep?.(report);
  }
  return reports;
}
