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
  usesGpu: false,
  sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 },
  async init() {
    const mod = (await import('onnxruntime-node')) as unknown as OrtModule & { default?: OrtModule };
    return { ort: mod.default ?? mod, adapter: describeCpu() };
  },
});
