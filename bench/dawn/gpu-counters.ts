// Counts what any WebGPU user in this process does per run, by wrapping the prototypes of
// dawn.node's classes: dispatches (compute pass dispatchWorkgroups*), queue submits, and
// readbacks (mapAsync for reading). The same method for every GPU system, kiln included.
import { dawnClasses } from './dawn-classes.js';

/** Cumulative counts since the wrappers were installed. */
export interface GpuCounts {
  dispatches: number;
  submits: number;
  readbacks: number;
}

const counts: GpuCounts = { dispatches: 0, submits: 0, readbacks: 0 };
let installed = false;

function wrap<T extends object>(proto: T, method: keyof T, count: (args: unknown[]) => void): void {
  const original = proto[method] as unknown as (...args: unknown[]) => unknown;
  Object.defineProperty(proto, method, {
    configurable: true,
    writable: true,
    value: function (this: unknown, ...args: unknown[]) {
      count(args);
      return original.apply(this, args);
    },
  });
}

/** Installs the counting wrappers (once per process; before any device is created). */
export function installGpuCounters(): void {
  if (installed) return;
  installed = true;
  const dawn = dawnClasses();
  const pass = dawn.GPUComputePassEncoder.prototype;
  wrap(pass, 'dispatchWorkgroups', () => counts.dispatches++);
  wrap(pass, 'dispatchWorkgroupsIndirect', () => counts.dispatches++);
  wrap(dawn.GPUQueue.prototype, 'submit', () => counts.submits++);
  wrap(dawn.GPUBuffer.prototype, 'mapAsync', (args) => {
    if ((Number(args[0]) & dawn.GPUMapMode.READ) !== 0) counts.readbacks++;
  });
}

/** A snapshot of the counts; null when the wrappers are not installed. */
export function gpuCounts(): GpuCounts | null {
  return installed ? { ...counts } : null;
}
