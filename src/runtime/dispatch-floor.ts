import type { GpuDevice } from './device.js';
import { TimedPasses } from './timed-passes.js';

// What a dispatch costs the adapter when it does nothing: the time between dependent dispatches
// that no kernel can win back, only fewer dispatches (fusion). On lavapipe it is the hand-off of
// each dispatch to its shader threads and back (measured on 2 cores: 0.03 to 0.04 ms, against
// under 0.002 ms with LP_NUM_THREADS=0, where the dispatches run on the submitting thread), so a
// model of 48 small kernels spends over a millisecond of each run there.

/** Dispatches of the long pass: the floor is the time it takes beyond one dispatch's, over this less one. */
const DISPATCHES = 33;

// One invocation bumps a counter, so each dispatch reads what the last one wrote and the
// implementation must order them, as it orders a model's layers.
const BUMP = '@group(0) @binding(0) var<storage, read_write> counter: array<u32>;\n@compute @workgroup_size(1) fn main() { counter[0] = counter[0] + 1u; }';

/**
 * Device time of one dispatch of a one-invocation kernel, each after the last (ms; the median of
 * `runs` measurements): (time of DISPATCHES in one pass - time of 1) / (DISPATCHES - 1).
 * Needs the `timestamp-query` feature.
 */
export async function measureDispatchFloor(gpu: GpuDevice, runs = 5): Promise<number> {
  const device = gpu.device;
  const module = device.createShaderModule({ code: BUMP, label: 'dispatch-floor' });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'dispatch-floor' });
  const counter = device.createBuffer({ size: 4, usage: GPUBufferUsage.STORAGE, label: 'dispatch-floor' });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: counter } }] });
  const timed = TimedPasses.create(device, 2);
  const floors: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      const encoder = device.createCommandEncoder({ label: 'dispatch-floor' });
      for (const [k, count] of [[0, 1], [1, DISPATCHES]] as const) {
        const pass = timed.begin(encoder, k);
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        for (let d = 0; d < count; d++) pass.dispatchWorkgroups(1);
        pass.end();
      }
      const [one, many] = (await timed.submit(encoder)) as [number, number];
      floors.push(Math.max(0, many - one) / (DISPATCHES - 1));
    }
  } finally {
    counter.destroy();
    timed.destroy();
  }
  floors.sort((a, b) => a - b);
  return floors[floors.length >> 1]!;
}
