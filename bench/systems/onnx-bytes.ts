import { readFile } from 'node:fs/promises';
import { exportOnnx } from '../onnx/export-graph.js';
import type { Workload } from '../workloads.js';

/** The ONNX model a peer loads for `w`: the workload's file, or its kiln graph exported. */
export async function onnxBytesOf(w: Workload): Promise<Uint8Array> {
  if (w.source.kind === 'onnx') return new Uint8Array(await readFile(w.source.path()));
  if (w.source.kind === 'onnx-bytes') return w.source.build();
  return exportOnnx(await w.source.build());
}
