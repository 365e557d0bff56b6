import { extname } from 'node:path';
import { UsageError } from './errors.js';

/** The `--input-shape NAME=D0,D1,...` option (repeatable), shared by commands that load models. */
export const inputShapeArgs = {
  'input-shape': { type: 'string' as const, multiple: true },
};

export const inputShapeUsage = [
  "  --input-shape NAME=D0,D1,...  bind an ONNX input's shape (symbolic dims need it); an extent may vary within",
  '                                a range, NAME<=MAX or MIN<=NAME<=MAX (x=N<=32,3,48,W<=1280), or a multiple of STEP in one,',
  '                                STEP*NAME<=MAX (x=1,3,32*H<=960,32*W<=960): one program for every size; repeatable.',
  "                                A sequence input takes its items' shapes, each in brackets: 'seq=[3,4];[2,4]' (its",
  '                                length is compiled in); an optional input its shape when present, or NAME=none',
].join('\n');

/** --input-shape and --input-value bind an ONNX model's inputs: a usage error for another kind of model. */
export function checkOnnxOnlyOptions(modelPath: string, values: Record<string, unknown>): void {
  if (extname(modelPath).toLowerCase() === '.onnx') return;
  for (const option of ['input-shape', 'input-value']) {
    if ((values[option] as string[] | undefined)?.length) throw new UsageError(`--${option} applies to ONNX models only; ${modelPath} is not one`);
  }
}

/** The --input-shape specs of sequence items ('[..];[..]') and absent optionals ('none'). */
const ITEMS_SPEC = /^[^=]+=\s*(none|\[.*)$/;

/** Parses every --input-shape of a tensor into shapes by input name. */
export function inputShapesFrom(values: Record<string, unknown>): Record<string, (number | string)[]> {
  const out: Record<string, (number | string)[]> = {};
  for (const spec of (values['input-shape'] as string[] | undefined) ?? []) {
    if (ITEMS_SPEC.test(spec)) continue;
    // The name ends at the first '=' not part of a '<=' range.
    const eq = spec.search(/(?<!<)=/);
    const name = spec.slice(0, eq);
    const rhs = spec.slice(eq + 1).trim();
    const dims = rhs === '' ? [] : rhs.split(',').map((d) => d.trim());
    const bad = dims.find((d) => !/^\d+$/.test(d) && !SIZE_RANGE.test(d));
    if (eq <= 0 || bad !== undefined) {
      throw new UsageError(`--input-shape takes NAME=D0,D1,... where each extent is a non-negative integer or a size that varies within a range, NAME<=MAX or MIN<=NAME<=MAX, or a multiple of STEP, STEP*NAME<=MAX (e.g. x=1,3,48,192, x=N<=32,3,48,W<=1280 or x=1,3,32*H<=960,32*W<=960), got '${spec}'`);
    }
    if (name in out) throw new UsageError(`--input-shape gives '${name}' twice`);
    out[name] = dims.map((d) => (/^\d+$/.test(d) ? Number(d) : d));
  }
  return out;
}

/** `N<=32`, `8<=W<=1280`, `32*H<=960`: an extent that varies within a range (in steps). */
const SIZE_RANGE = /^(\d+\s*<=\s*)?(\d+\s*\*\s*)?[A-Za-z_][A-Za-z0-9_]*\s*<=\s*\d+$/;

/**
 * Parses the --input-shape specs of sequence and optional inputs: NAME=[D0,D1];[D0,D1] (each
 * item's fixed extents) or NAME=none (an optional without a value), by input name.
 */
export function itemShapesFrom(values: Record<string, unknown>): Record<string, number[][] | null> {
  const out: Record<string, number[][] | null> = {};
  for (const spec of (values['input-shape'] as string[] | undefined) ?? []) {
    const m = ITEMS_SPEC.exec(spec);
    if (!m) continue;
    const name = spec.slice(0, spec.indexOf('='));
    if (name in out) throw new UsageError(`--input-shape gives '${name}' twice`);
    if (m[1] === 'none') {
      out[name] = null;
      continue;
    }
    const items = m[1]!.split(';').map((item) => /^\s*\[([\d\s,]*)\]\s*$/.exec(item));
    if (items.some((x) => !x)) throw new UsageError(`--input-shape for a sequence takes NAME=[D0,D1,...];[D0,D1,...] with fixed extents, one bracket per item (e.g. 'seq=[3,4];[2,4]'), got '${spec}'`);
    const dims = items.map((x) => (x![1]!.trim() === '' ? [] : x![1]!.split(',').map((d) => d.trim())));
    if (dims.flat().some((d) => !/^\d+$/.test(d))) throw new UsageError(`--input-shape '${spec}': each extent of a sequence item is a non-negative integer`);
    out[name] = dims.map((d) => d.map(Number));
  }
  return out;
}
