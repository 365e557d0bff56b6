import { describeCpu } from '../dawn/adapter.js';
import { ortSystem, type OrtModule } from './ort.js';

/**
 * onnxruntime-node on the CPU: what a user without a GPU runs. Pinned to one intra-op thread,
 * as its timings otherwise jump between processes (see bench/README.md, "What each peer needs
 * in Node on Dawn").
 */
export const ortNodeSystem = ortSystem({
  id: 'ort-node',
  backend: 'ORT CPU EP, 1 thread (onnxruntime-node)',
  onBenchDawn: false,
  sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 },
  async init() {
    const mod = (await import('onnxruntime-node')) as unknown as OrtModule & { default?: OrtModule };
    return { ort: mod.default ?? mod, adapter: describeCpu() };
  },
});

/**
 * onnxruntime-node's WebGPU execution provider: the same C++ EP as onnxruntime-web/webgpu,
 * compiled natively with a Dawn of its own (it does not take Dawn's navigator.gpu, so the
 * adapter it picks is named as its build says, not queried).
 */
export const ortNodeWebGpuSystem = ortSystem({
  id: 'ort-node-webgpu',
  backend: 'ORT native WebGPU EP (onnxruntime-node)',
  onBenchDawn: false,
  // logSeverityLevel 3 (errors only): the EP otherwise warns about nodes it leaves on the CPU.
  sessionOptions: { executionProviders: ['webgpu'], logSeverityLevel: 3 },
  async init() {
    const mod = (await import('onnxruntime-node')) as unknown as OrtModule & { default?: OrtModule };
    return { ort: mod.default ?? mod, adapter: "onnxruntime-node's own Dawn (its first adapter)" };
  },
});
