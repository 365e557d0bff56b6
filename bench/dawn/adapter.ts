import { cpus } from 'node:os';

/** One line naming a WebGPU adapter, the same for every system: `lavapipe: Mesa 25.0.7 (LLVM 15.0.6) [mesa, software]`. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  if (!info) return 'unknown WebGPU adapter';
  const what = [info.vendor, info.architecture].filter(Boolean).join(', ');
  const name = info.description || info.device || 'WebGPU adapter';
  return what ? `${name} [${what}]` : name;
}

/** The CPU, for systems that run on it: `CPU: AMD EPYC (2 cores)`. */
export function describeCpu(): string {
  const list = cpus();
  const model = (list[0]?.model ?? 'unknown').replace(/\s+/g, ' ').trim();
  return `CPU: ${model} (${list.length} cores)`;
}
