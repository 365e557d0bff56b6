import type { Precision } from '../rows.js';
import type { Workload } from '../workloads.js';
import type { BenchSystem } from './types.js';

/** The systems the bench compares, in the order they run; each loads only its own runtime. */
export const SYSTEM_IDS = ['kiln', 'ort-webgpu', 'ort-jsep', 'tfjs-webgpu', 'ort-node-webgpu', 'ort-node'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

/** Imports one system (only the runtime it needs, so a peer's child never loads another's). */
export async function loadSystem(id: SystemId, opts: { kilnWait?: 'sleep' | 'spin' } = {}): Promise<BenchSystem> {
  switch (id) {
    case 'kiln': return (await import('./kiln.js')).kilnSystem(opts.kilnWait ? { wait: opts.kilnWait } : {});
    case 'ort-webgpu': return (await import('./ort-web.js')).ortWebGpuSystem;
    case 'ort-jsep': return (await import('./ort-web.js')).ortJsepSystem;
    case 'tfjs-webgpu': return (await import('./tfjs.js')).tfjsSystem();
    case 'ort-node-webgpu': return (await import('./ort-node.js')).ortNodeWebGpuSystem;
    case 'ort-node': return (await import('./ort-node.js')).ortNodeSystem;
  }
}

/** Whether `id` names a system. */
export function isSystemId(id: string): id is SystemId {
  return (SYSTEM_IDS as readonly string[]).includes(id);
}

/** The precisions a system runs a workload at: kiln's fp32 and its fp16 variants; peers fp32. */
export function precisionsFor(id: SystemId, w: Workload): readonly Precision[] {
  return id === 'kiln' ? w.kilnPrecisions : ['fp32'];
}
