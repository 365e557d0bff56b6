import { parentPort, workerData } from 'node:worker_threads';
import { webgpu } from '../torch/devices.js';
import { SharedMemoryGroup } from './shared-memory.js';
import { setDefaultGroup } from './process-group.js';
import type { WorkerContext, WorkerStart } from './launcher.js';

// The first module of every worker `spawn` starts: joins the shared-memory group as this
// worker's default group, runs the worker module's `main(context)`, posts its result (or its
// error) to the launcher, and destroys the devices the worker acquired so its thread can end.

const start = workerData as WorkerStart;
const group = SharedMemoryGroup.join(start.group, start.rank);
setDefaultGroup(group);
try {
  const module = (await import(start.entry)) as { main?: (ctx: WorkerContext) => unknown };
  if (typeof module.main !== 'function') throw new Error(`the worker module ${start.entry} exports no main(context) function`);
  const result = await module.main({ rank: start.rank, worldSize: group.worldSize, group, data: start.data });
  parentPort!.postMessage({ ok: true, result });
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  parentPort!.postMessage({ ok: false, name: err.name, message: err.message, stack: err.stack });
} finally {
  webgpu.shutdown();
}
