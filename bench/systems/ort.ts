// The ONNX Runtime peers (web: native WebGPU EP and JSEP; node: CPU EP) through the API they
// share (onnxruntime-common), typed here to the little the bench uses.
import type { Precision } from '../rows.js';
import type { Workload } from '../workloads.js';
import { onnxBytesOf } from './onnx-bytes.js';
import type { BenchSystem, LoadedModel, PreparedModel } from './types.js';

/** What the bench uses of an onnxruntime module (web or node). */
export interface OrtModule {
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
  readonly InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
}

interface OrtSession {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { readonly data: unknown }>>;
  release(): Promise<void>;
}

export interface OrtSystemSpec {
  readonly id: string;
  readonly backend: string;
  readonly onBenchDawn: boolean;
  /** Imports the runtime (after any shims it needs) and describes the adapter it runs on. */
  init(): Promise<{ ort: OrtModule; adapter: string }>;
  /** Session options (execution providers, threads). */
  readonly sessionOptions: Record<string, unknown>;
  /** Facts about the runtime once initialised. */
  notes?(ort: OrtModule): string[];
}

/** An ONNX Runtime peer: the workload's ONNX model, one InferenceSession, CPU tensors in and out. */
export function ortSystem(spec: OrtSystemSpec): BenchSystem {
  let ort: OrtModule | undefined;
  return {
    id: spec.id,
    backend: spec.backend,
    onBenchDawn: spec.onBenchDawn,

    async init() {
      const ready = await spec.init();
      ort = ready.ort;
      return ready.adapter;
    },

    unsupported(_w: Workload, p: Precision) {
      return p === 'fp32' ? null : 'the peers run the fp32 models only';
    },

    async prepare(w: Workload): Promise<PreparedModel> {
      const rt = ort;
      if (!rt) throw new Error(`${spec.id} used before init()`);
      const bytes = await onnxBytesOf(w);
      const shapes = new Map(w.inputs.map((i) => [i.name, i.shape]));
      return {
        compileMs: null,
        async load(): Promise<LoadedModel> {
          const session = await rt.InferenceSession.create(bytes, spec.sessionOptions);
          const outName = session.outputNames[0]!;
          return {
            async run(values) {
              const feeds: Record<string, unknown> = {};
              for (const [name, data] of values) feeds[name] = new rt.Tensor('float32', data, shapes.get(name)!);
              const out = await session.run(feeds);
              return out[outName]!.data as Float32Array;
            },
            dispose: () => session.release(),
          };
        },
      };
    },

    notes() {
      return ort && spec.notes ? spec.notes(ort) : [];
    },

    async close() {},
  };
}
