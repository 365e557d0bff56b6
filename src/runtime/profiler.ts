import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import type { GpuDevice } from './device.js';
import { toDeviceBytes } from './host-data.js';
import { loadProgram, type LoadStats } from './load.js';
import type { Program, StaticProgram } from './program.js';
import { bindSizes, describeCondition, isDynamicProgram, resolveProgram } from './sizes.js';
import { TimedPasses } from './timed-passes.js';
import { writeInputs } from './session-inputs.js';
import { UploadStaging } from './upload-staging.js';

/** Device time of one dispatch, averaged over the profiled runs (and the repeats of each, see REPEATS). */
export interface DispatchTime {
  readonly index: number;
  readonly label: string;
  readonly kernel: string;
  /** The condition of the kernel variant the bound sizes chose (absent: the dispatch's own kernel). */
  readonly variant?: string;
  readonly ms: number;
  /** Estimated floating-point operations and bytes moved per run, where known (see `kiln profile`). */
  readonly flops?: number | null;
  readonly bytes?: number;
}

export interface Profile {
  readonly dispatches: readonly DispatchTime[];
  /** Sum of the dispatches' device time (per run). */
  readonly deviceMs: number;
  /** Host time per run to write the inputs, and to read the outputs back. */
  readonly uploadMs: number;
  readonly readbackMs: number;
  readonly runs: number;
  /** What an empty dispatch costs the adapter (see measureDispatchFloor), where measured. */
  readonly dispatchFloorMs?: number;
}

/**
 * Back-to-back repeats of each dispatch inside its timed pass (see TimedPasses.timeSteps): a
 * small kernel on lavapipe takes 20 to 30 us, under one 65 us tick of its timestamps.
 */
const REPEATS = 8;

/**
 * Times every dispatch of a Program with timestamp queries: each dispatch in its own compute
 * pass with begin/end timestamps (so the figures include no pass overlap), run REPEATS times
 * there. Needs the `timestamp-query` feature; the Program's outputs are read back once per run
 * to time that too. A program compiled for a range of shapes runs at the sizes its inputs'
 * shapes give, with the kernel variants they choose.
 */
export async function profileProgram(gpu: GpuDevice, given: Program, inputs: Record<string, TensorData>, runs = 5): Promise<Profile> {
  const device = gpu.device;
  if (!device.features.has('timestamp-query')) {
    throw new KilnError(`kiln profile needs the timestamp-query feature, which ${gpu.describe()} does not offer`);
  }
  const stats: LoadStats = { pipelinesCreated: 0, shaderModulesCreated: 0, buffersCreated: 0, bindGroupsCreated: 0, weightBytesUploaded: 0, weightUploads: 0 };
  const program = isDynamicProgram(given) ? resolveProgram(given, bindSizes(given, new Map(Object.entries(inputs).map(([k, t]) => [k, t.shape])))) : given as StaticProgram;
  const loaded = await loadProgram(gpu, program, { label: `profile:${program.name}`, warmup: true }, stats);
  const n = loaded.steps.length;
  const timed = TimedPasses.create(device, n);
  const uploads = new UploadStaging(device, 'profile');
  const totals = new Float64Array(n);
  let uploadMs = 0;
  let readbackMs = 0;
  try {
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      // As a session's run uploads them (large inputs through staging buffers).
      const writes = program.inputs.map((b) => {
        const x = inputs[b.name];
        if (!x) throw new KilnError(`profile: missing input '${b.name}'`);
        return { id: b.buffer, bytes: toDeviceBytes(x) };
      });
      const copies = writeInputs(gpu, loaded.buffers, writes, 'profile:inputs', uploads);
      device.queue.submit(copies ? [copies] : []);
      await device.queue.onSubmittedWorkDone();
      await uploads.remap();
      uploadMs += performance.now() - t0;
      (await timed.timeSteps(loaded.steps, REPEATS)).forEach((ms, i) => { totals[i]! += ms; });
      const t1 = performance.now();
      if (loaded.staging) {
        const e2 = device.createCommandEncoder();
        for (const c of loaded.copies) e2.copyBufferToBuffer(c.src, 0, loaded.staging, c.dstOffset, c.bytes);
        device.queue.submit([e2.finish()]);
        await loaded.staging.mapAsync(GPUMapMode.READ);
        loaded.staging.unmap();
      }
      readbackMs += performance.now() - t1;
    }
  } finally {
    uploads.close();
    timed.destroy();
    for (const b of loaded.owned) b.destroy();
  }
  const dispatches = program.dispatches.map((d, i) => ({
    index: i, label: d.label, kernel: program.kernels[d.kernel]!.name,
    ...(d.variant === undefined ? {} : { variant: describeCondition(given.dispatches[i]!.variants![d.variant]!.when) }),
    ms: totals[i]! / runs,
  }));
  return { dispatches, deviceMs: dispatches.reduce((a, d) => a + d.ms, 0), uploadMs: uploadMs / runs, readbackMs: readbackMs / runs, runs };
}

/** A dispatch's (or the total's) work and traffic columns: MFLOP, MB, GFLOP/s, GB/s ('–' where unknown). */
function rateColumns(flops: number | null | undefined, bytes: number | undefined, ms: number): string {
  const cell = (v: number | null | undefined, scale: number, digits: number): string => (v === null || v === undefined ? '–' : (v / scale).toFixed(digits));
  const per = (v: number | null | undefined, scale: number): number | null => (v === null || v === undefined || ms <= 0 ? null : v / (ms * 1e-3) / scale);
  return [cell(flops, 1e6, 2).padStart(10), cell(bytes, 1e6, 2).padStart(9), cell(per(flops, 1e9), 1, 2).padStart(9), cell(per(bytes, 1e9), 1, 2).padStart(8)].join(' ');
}

/** A dispatch as the table names it, with the condition of the kernel variant it ran. */
const labelOf = (d: DispatchTime): string => (d.variant === undefined ? d.label : `${d.label} [${d.variant}]`);

/** The profile as a table sorted by device time, with each dispatch's share, work and traffic. */
export function formatProfile(p: Profile): string {
  const rows = [...p.dispatches].sort((a, b) => b.ms - a.ms);
  const w = Math.max(8, ...rows.map((r) => labelOf(r).length));
  const kw = Math.max(6, ...rows.map((r) => r.kernel.length));
  const costed = p.dispatches.some((d) => d.bytes !== undefined);
  const head = costed ? ` ${'MFLOP'.padStart(10)} ${'MB'.padStart(9)} ${'GFLOP/s'.padStart(9)} ${'GB/s'.padStart(8)}` : '';
  const lines = [`${'dispatch'.padEnd(w)}  ${'kernel'.padEnd(kw)} ${'device ms'.padStart(10)} ${'share'.padStart(7)}${head}`];
  for (const r of rows) {
    const share = p.deviceMs ? (100 * r.ms) / p.deviceMs : 0;
    const cost = costed ? ` ${rateColumns(r.flops, r.bytes, r.ms)}` : '';
    lines.push(`${labelOf(r).padEnd(w)}  ${r.kernel.padEnd(kw)} ${r.ms.toFixed(3).padStart(10)} ${share.toFixed(1).padStart(6)}%${cost}`);
  }
  let total = '';
  if (costed) {
    // Work of the dispatches with an estimate over the whole device time: a lower bound of the rate.
    const known = p.dispatches.filter((d) => d.flops !== null && d.flops !== undefined);
    const flops = known.reduce((a, d) => a + d.flops!, 0);
    const bytes = p.dispatches.reduce((a, d) => a + (d.bytes ?? 0), 0);
    total = ` ${''.padStart(7)} ${rateColumns(flops, bytes, p.deviceMs)}`;
  }
  lines.push(`${'total device time'.padEnd(w)}  ${''.padEnd(kw)} ${p.deviceMs.toFixed(3).padStart(10)}${total}`);
  if (p.dispatchFloorMs !== undefined) {
    // Each dispatch's time above includes it once: the part of the total no kernel can win back.
    const floor = p.dispatchFloorMs * p.dispatches.length;
    const share = p.deviceMs ? ` (${((100 * floor) / p.deviceMs).toFixed(0)}% of the device time)` : '';
    lines.push(`dispatch floor: ${p.dispatchFloorMs.toFixed(3)} ms a dispatch (an empty one, measured), ${floor.toFixed(3)} ms for these ${p.dispatches.length}${share}: only fewer dispatches save it`);
  }
  lines.push(`host: upload ${p.uploadMs.toFixed(3)} ms, readback ${p.readbackMs.toFixed(3)} ms per run (mean of ${p.runs})`);
  return lines.join('\n');
}
