import { readFile } from 'node:fs/promises';
import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import { readNpy } from '../io/npy.js';

/** The `--input-value NAME=V0,V1,...|NAME=FILE.npy` option (repeatable): inputs frozen at compile time. */
export const inputValueArgs = {
  'input-value': { type: 'string' as const, multiple: true },
};

export const inputValueUsage = [
  '  --input-value NAME=V0,V1,...|NAME=FILE.npy',
  "                               freeze an ONNX input to these values (a vector, or a scalar where the",
  "                               input is rank 0; in the input's dtype) or to a .npy file's tensor: it",
  '                               becomes a constant, no longer an input. Inputs that decide shapes or',
  '                               parameters (Reduce axes, Resize scales, Slice starts, Reshape shape,',
  '                               ...) need it, since kiln compiles static shapes; repeatable',
].join('\n');

/** Parses every --input-value: numbers as given (the importer gives them the input's dtype), .npy files read. */
export async function inputValuesFrom(values: Record<string, unknown>): Promise<Record<string, TensorData | number[]>> {
  const out: Record<string, TensorData | number[]> = {};
  for (const spec of (values['input-value'] as string[] | undefined) ?? []) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const rhs = spec.slice(eq + 1).trim();
    if (eq <= 0) throw new KilnError(`--input-value takes NAME=V0,V1,... or NAME=FILE.npy (e.g. axes=1 or scales=1,1,2,2), got '${spec}'`);
    if (name in out) throw new KilnError(`--input-value gives '${name}' twice`);
    if (/\.npy$/i.test(rhs)) {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(rhs);
      } catch (e) {
        throw new KilnError(`--input-value ${name}: cannot read ${rhs}: ${(e as Error).message}`);
      }
      out[name] = readNpy(bytes, rhs);
      continue;
    }
    out[name] = rhs === '' ? [] : rhs.split(',').map((s) => parseNumber(s.trim(), spec));
  }
  return out;
}

/** A decimal number, or nan / inf / -inf, or true / false. */
function parseNumber(s: string, spec: string): number {
  const special: Record<string, number> = { nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, true: 1, false: 0 };
  const v = special[s.toLowerCase()] ?? (s === '' ? NaN : Number(s));
  if (Number.isNaN(v) && s.toLowerCase() !== 'nan') throw new KilnError(`--input-value '${spec}': '${s}' is not a number`);
  return v;
}
