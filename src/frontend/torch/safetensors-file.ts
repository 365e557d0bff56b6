import { readFile, writeFile } from 'node:fs/promises';
import { KilnError } from '../../ir/errors.js';
import type { DeviceLike } from './devices.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { Tensor } from './tensor.js';

/**
 * Writes tensors (e.g. `model.stateDict()`) to a safetensors file; tensors on webgpu are read
 * back first, so await it.
 */
export async function saveSafetensors(
  tensors: Readonly<Record<string, Tensor>>, path: string, opts: { metadata?: Record<string, string> } = {},
): Promise<void> {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw new KilnError(`saveSafetensors: '${name}' is not a Tensor`);
  }
  const host = await Promise.all(entries.map(([, t]) => t.to('cpu')));
  const data = Object.fromEntries(entries.map(([name], i) => [name, host[i]!.data]));
  await writeFile(path, encodeSafetensors(data, opts.metadata));
}

/** Reads a safetensors file into tensors by name, on the CPU or on `device`. */
export async function loadSafetensors(path: string, opts: { device?: DeviceLike } = {}): Promise<Record<string, Tensor>> {
  const { tensors } = decodeSafetensors(await readFile(path), path);
  const out: Record<string, Tensor> = {};
  for (const [name, data] of Object.entries(tensors)) {
    const t = Tensor.fromData(data);
    out[name] = opts.device && opts.device !== 'cpu' ? await t.to(opts.device) : t;
  }
  return out;
}
