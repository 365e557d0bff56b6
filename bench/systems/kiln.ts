// kiln: the AOT compile (untimed here, reported as compileMs), then Session.create (the load a
// deployed model pays) and runs: one command buffer, one submit, one readback per run.
import { performance } from 'node:perf_hooks';
import { compile } from '../../src/compiler.js';
import { loadModel } from '../../src/frontend/load-model.js';
import type { Graph } from '../../src/ir/graph.js';
import { acquireDevice, type GpuDevice } from '../../src/runtime/device.js';
import type { WaitStrategy } from '../../src/runtime/gpu-wait.js';
import { Session } from '../../src/runtime/session.js';
import { KILN_VERSION } from '../../src/runtime/version.js';
import { describeAdapter } from '../dawn/adapter.js';
import type { Precision } from '../rows.js';
import type { Workload } from '../workloads.js';
import { kernelTarget } from '../../src/precision.js';
import { SkipWorkload, type BenchSystem, type LoadedModel, type PreparedModel } from './types.js';
import { importOnnx } from '../../src/frontend/onnx/index.js';

export interface KilnSystemOptions {
  /** How runs wait for the GPU (the Session default when omitted). */
  readonly wait?: WaitStrategy;
}

/** The kiln system: compiles each workload's graph (or imports its ONNX file) and runs it on WebGPU. */
export function kilnSystem(opts: KilnSystemOptions = {}): BenchSystem {
  let gpu: GpuDevice | undefined;
  const device = (): GpuDevice => {
    if (!gpu) throw new Error('kiln system used before init()');
    return gpu;
  };

  /** The kiln graph of a workload; ONNX files go through the CLI's loader, as `kiln run` does. */
  async function graphOf(w: Workload): Promise<Graph> {
    if (w.source.kind === 'graph') return w.source.build();
    const inputShapes = w.kilnInputShapes ?? Object.fromEntries(w.inputs.map((i) => [i.name, i.shape]));
    try {
      if (w.source.kind === 'onnx-bytes') return importOnnx(await w.source.build(), { inputShapes });
      return await loadModel(w.source.path(), { inputShapes });
    } catch (e) {
      throw new SkipWorkload(`kiln cannot import the model yet: ${(e as Error).message}`);
    }
  }

  return {
    id: 'kiln',
    backend: 'kiln WebGPU',
    onBenchDawn: true,

    async init() {
      gpu = await acquireDevice();
      return describeAdapter(gpu.adapter.info);
    },

    unsupported(w, p) {
      if (!w.kilnPrecisions.includes(p)) return `kiln runs ${w.name} at ${w.kilnPrecisions.join(', ')} only`;
      if (p === 'fp16' && !device().features.has('shader-f16')) return 'the adapter lacks shader-f16';
      return null;
    },

    async prepare(w: Workload, p: Precision): Promise<PreparedModel> {
      const t0 = performance.now();
      const graph = await graphOf(w);
      // Kernels and passes are chosen for the adapter's class, as `kiln compile` chooses them.
      const program = compile(graph, { precision: p, ...kernelTarget(device().info, device().features, device().limits) });
      const compileMs = performance.now() - t0;
      const output = program.outputs[0];
      if (!output) throw new Error(`${w.name}: the compiled program has no output`);
      const inputs = new Map(program.inputs.map((t) => [t.name, t]));
      // Feeds take the workload's shapes (a program compiled for a range of shapes binds its sizes from them).
      const shapes = new Map(w.inputs.map((i) => [i.name, i.shape]));
      return {
        compileMs,
        async load(): Promise<LoadedModel> {
          const session = await Session.create(device(), program, opts.wait ? { wait: opts.wait } : {});
          return {
            async run(values) {
              const feeds = Object.fromEntries([...values].map(([name, data]) => {
                const binding = inputs.get(name);
                if (!binding) throw new Error(`${w.name}: kiln's program has no input '${name}'`);
                // Wrapped, not copied: a user's Float32Array goes straight to the upload.
                return [name, { dtype: 'f32' as const, shape: shapes.get(name) ?? binding.shape, data }];
              }));
              const out = await session.run(feeds);
              return out[output.name]!.data;
            },
            ownCounts() {
              const s = session.stats;
              return { dispatches: s.runs * program.dispatches.length, submits: s.submits };
            },
            dispose() {
              session.destroy();
            },
          };
        },
      };
    },

    notes() {
      return [`kiln ${KILN_VERSION}; runs wait for the GPU by ${opts.wait ? `'${opts.wait}'` : "the Session's default strategy"}`];
    },

    async close() {
      gpu?.destroy();
      gpu = undefined;
    },
  };
}
