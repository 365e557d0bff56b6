import { KILN_VERSION } from './version.js';

/**
 * ONNX Runtime's `env`, so that code setting its flags (`env.wasm.numThreads`,
 * `env.wasm.wasmPaths`, `env.webgpu.powerPreference`, `env.logLevel`) runs unchanged when it
 * imports kiln instead. kiln has no WebAssembly or WebGL backend and reads none of them: it runs
 * on the WebGPU device `acquireDevice` picks (or the `device` an InferenceSession is given).
 */
export interface OrtEnv {
  logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
  debug?: boolean;
  trace?: boolean;
  readonly versions: { readonly common: string; readonly kiln: string };
  readonly wasm: Record<string, unknown>;
  readonly webgl: Record<string, unknown>;
  readonly webgpu: Record<string, unknown>;
  [name: string]: unknown;
}

export const env: OrtEnv = {
  logLevel: 'warning', debug: false, trace: false,
  versions: { common: KILN_VERSION, kiln: KILN_VERSION },
  wasm: {}, webgl: {}, webgpu: {},
};
