import { KilnError } from '../ir/errors.js';
import type { TensorData } from '../ir/tensor-data.js';
import type { TypedArray } from '../ir/types.js';
import { fromDeviceBytes, hostDataProblem } from './host-data.js';
import type { Readback } from './load.js';

// A run's outputs copied from its mapped staging bytes to the host: into new arrays, or into the
// caller's (RunOptions.into). A new array's memory is paid for at its first touch, page by page:
// measured on lavapipe, copying matmul 1024^3's 4 MiB output into a new Float32Array
// took 13.6 ms of a 70-90 ms run, into an array written before 0.3 ms.

/** Arrays to read outputs into, by output name (RunOptions.into). */
export type OutputArrays = Readonly<Record<string, TypedArray>>;

/**
 * Checks RunOptions.into when run() is called: every name an output read back by this run (not
 * kept on the device, among `outputs` when given), every value a typed array. Its dtype and
 * length are checked against the output once the run's shapes are known (readOutputs).
 */
export function checkOutputArrays(program: string, into: OutputArrays, outputs: ReadonlySet<string> | undefined, keep: readonly string[]): void {
  const names = Object.keys(into);
  const unread = names.filter((n) => keep.includes(n) || (outputs && !outputs.has(n)));
  if (unread.length) throw new KilnError(`program '${program}': output(s) ${unread.map((n) => `'${n}'`).join(', ')} given arrays to read into (into) are not read back by this run (kept on the device, or not among outputs)`);
  const bad = names.filter((n) => !ArrayBuffer.isView(into[n]) || into[n] instanceof DataView);
  if (bad.length) throw new KilnError(`program '${program}': into: output(s) ${bad.map((n) => `'${n}'`).join(', ')} must be given typed arrays (e.g. a Float32Array for f32)`);
}

/**
 * The outputs `readbacks` from the staging bytes, each an own property (even a name like
 * '__proto__', which plain assignment would swallow): copied into `into`'s array where it names
 * the output, after all of them are checked (so a bad one changes none), else into a new one.
 */
export function readOutputs(bytes: Uint8Array, readbacks: readonly Readback[], into: OutputArrays | undefined): Record<string, TensorData> {
  for (const { output } of readbacks) {
    const data = into?.[output.name];
    const problem = data && hostDataProblem({ dtype: output.dtype, shape: output.shape, data });
    if (problem) throw new KilnError(`output '${output.name}' (into): ${problem}`);
  }
  const out: Record<string, TensorData> = {};
  for (const { output, offset } of readbacks) {
    const value = fromDeviceBytes(output.dtype, output.shape, bytes.subarray(offset), into?.[output.name]);
    Object.defineProperty(out, output.name, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
