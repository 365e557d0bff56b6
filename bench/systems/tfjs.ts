// TensorFlow.js with its WebGPU backend on Dawn's navigator.gpu (it needs nothing else in Node):
// the workloads expressed with TF.js ops (it has no ONNX loader).
import type * as TF from '@tensorflow/tfjs-core';
import { describeAdapter } from '../dawn/adapter.js';
import { dawnGpu, installNavigatorGpu } from '../dawn/node-shims.js';
import { graphToTfjs, unsupportedTfOps } from '../tfjs/graph-to-tfjs.js';
import type { Precision } from '../rows.js';
import type { Workload } from '../workloads.js';
import { SkipWorkload, type BenchSystem, type LoadedModel, type PreparedModel } from './types.js';

/** TF.js on WebGPU. */
export function tfjsSystem(): BenchSystem {
  let tf: typeof TF | undefined;
  return {
    id: 'tfjs-webgpu',
    backend: 'TF.js WebGPU backend',
    onBenchDawn: true,

    async init() {
      installNavigatorGpu();
      tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not initialise its webgpu backend');
      await tf.ready();
      const adapter = await dawnGpu().requestAdapter();
      return describeAdapter(adapter?.info);
    },

    unsupported(w: Workload, p: Precision) {
      if (p !== 'fp32') return 'the peers run the fp32 models only';
      if (w.source.kind !== 'graph') return 'TensorFlow.js has no ONNX loader';
      return null;
    },

    async prepare(w: Workload): Promise<PreparedModel> {
      const t = tf;
      if (!t) throw new Error('tfjs used before init()');
      if (w.source.kind !== 'graph') throw new Error(`${w.name} is not a graph workload`);
      const graph = await w.source.build();
      const missing = unsupportedTfOps(graph);
      if (missing.length) throw new SkipWorkload(`no TF.js mapping in the bench for op(s) ${missing.join(', ')}`);
      return {
        compileMs: null,
        async load(): Promise<LoadedModel> {
          const runner = graphToTfjs(t, graph);
          return { run: (inputs) => runner.run(inputs), dispose: () => runner.dispose() };
        },
      };
    },

    notes() {
      return tf ? [`@tensorflow/tfjs-core ${tf.version_core}, backend ${tf.getBackend()}`] : [];
    },

    async close() {},
  };
}
