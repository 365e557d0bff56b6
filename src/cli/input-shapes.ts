import { extname } from 'node:path';
import { UsageError } from './errors.js';

/** The `--input-shape NAME=D0,D1,...` option (repeatable), shared by commands that load models. */
export const inputShapeArgs = {
  'input-shape': { type: 'string' as const, multiple: true },
};

export const inputShapeUsage = '  --input-shape NAME=D0,D1,...  bind an ONNX input\'s shape (symbolic dims need it); repeatable';

/** --input-shape and --input-value bind an ONNX model's inputs: a usage error for another kind of model. */
export function checkOnnxOnlyOptions(modelPath: string, values: Record<string, unknown>): void {
  if (extname(modelPath).toLowerCase() === '.onnx') return;
  for (const option of ['input-shape', 'input-value']) {
    if ((values[option] as string[] | undefined)?.length) throw new UsageError(`--${option} applies to ONNX models only; ${modelPath} is not one`);
  }
}

/** Parses every --input-shape into shapes by input name. */
export function inputShapesFrom(values: Record<string, unknown>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const spec of (values['input-shape'] as string[] | undefined) ?? []) {
    const eq = spec.lastIndexOf('=');
    const name = spec.slice(0, eq);
    const rhs = spec.slice(eq + 1).trim();
    const dims = rhs === '' ? [] : rhs.split(',').map((d) => d.trim());
    if (eq <= 0 || dims.some((d) => !/^\d+$/.test(d))) {
      throw new UsageError(`--input-shape takes NAME=D0,D1,... with non-negative integer extents (e.g. x=1,3,48,192), got '${spec}'`);
    }
    if (name in out) throw new UsageError(`--input-shape gives '${name}' twice`);
    out[name] = dims.map(Number);
  }
  return out;
}
