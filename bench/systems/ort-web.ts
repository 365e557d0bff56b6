// onnxruntime-web in Node on Dawn's navigator.gpu, in its two WebGPU builds: the native WebGPU
// EP (`onnxruntime-web/webgpu`, the C++ EP compiled to wasm) and the older JavaScript EP
// (JSEP, `onnxruntime-web/all`).
import { describeAdapter } from '../dawn/adapter.js';
import { copySharedWriteBufferData, dawnGpu, installNavigatorGpu, sharedWriteCopies } from '../dawn/node-shims.js';
import { ortSystem, type OrtModule } from './ort.js';

interface OrtWebEnv {
  readonly env: { logLevel?: string; readonly versions?: Record<string, string>; readonly wasm: { numThreads?: number } };
}

/** Runs the shims, imports `specifier`, and names the adapter navigator.gpu gives. */
async function initOrtWeb(load: () => Promise<unknown>): Promise<{ ort: OrtModule; adapter: string }> {
  installNavigatorGpu();
  copySharedWriteBufferData();
  const ort = (await load()) as OrtModule & OrtWebEnv;
  // Its warnings (nodes placed on the CPU, etc.) are noise for a benchmark.
  ort.env.logLevel = 'error';
  const adapter = await dawnGpu().requestAdapter();
  return { ort, adapter: describeAdapter(adapter?.info) };
}

// logSeverityLevel 3 (errors only): the native EP otherwise warns about nodes it leaves on the CPU.
const SESSION_OPTIONS = { executionProviders: ['webgpu'], logSeverityLevel: 3 };

function notes(ort: OrtModule): string[] {
  const env = (ort as unknown as OrtWebEnv).env;
  const versions = Object.entries(env.versions ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `onnxruntime-web ${versions || '(version unknown)'}, wasm threads: ${env.wasm.numThreads ?? 'default'}`,
    `queue.writeBuffer calls with SharedArrayBuffer data copied first: ${sharedWriteCopies()}`,
  ];
}

/** onnxruntime-web's native WebGPU execution provider. */
export const ortWebGpuSystem = ortSystem({
  id: 'ort-webgpu',
  backend: 'ORT-web native WebGPU EP (onnxruntime-web/webgpu)',
  onBenchDawn: true,
  sessionOptions: SESSION_OPTIONS,
  init: () => initOrtWeb(() => import('onnxruntime-web/webgpu')),
  notes,
});

/** onnxruntime-web's JSEP build (JavaScript kernels on WebGPU). */
export const ortJsepSystem = ortSystem({
  id: 'ort-jsep',
  backend: 'ORT-web JSEP (onnxruntime-web/all)',
  onBenchDawn: true,
  sessionOptions: SESSION_OPTIONS,
  init: () => initOrtWeb(() => import('onnxruntime-web/all')),
  notes,
});
