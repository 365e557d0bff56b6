import type { ManifestProgram } from './manifest.js';
import { arr, fail, file, int, obj, onlyKnown, sha, str, word } from './manifest-fields.js';
import type { Program, SizeWord } from './program.js';

// A Program as a manifest stores it (every field but its weights and its kernels' WGSL), checked
// field by field.

/** Program fields this runtime knows; a newer compiler's unknown field must not be silently ignored. */
// A field added to Program goes here and into parseProgram (with its structure check).
const PROGRAM_FIELDS = new Set(['version', 'name', 'inputs', 'outputs', 'buffers', 'kernels', 'dispatches', 'requiredFeatures', 'state', 'stateUpdates', 'sizes']);

/** A dispatch's (or a dispatch variant's) kernel, uniform words and workgroup counts. */
function kernelRun(d: Record<string, unknown>, path: string) {
  const workgroups = arr(d.workgroups, `${path}.workgroups`, word);
  if (workgroups.length !== 3) fail(`${path}.workgroups must hold 3 counts, got ${workgroups.length}`);
  return {
    kernel: int(d.kernel, `${path}.kernel`),
    // Range of each word (u32 or i32) is checked against the kernel by checkDispatch.
    ...(d.uniforms === undefined ? {} : { uniforms: arr(d.uniforms, `${path}.uniforms`, word) }),
    workgroups: workgroups as unknown as readonly [SizeWord, SizeWord, SizeWord],
  };
}

/** Parses and checks the program at `at` of a manifest. */
export function parseProgram(v: unknown, at: string): ManifestProgram {
  const p = obj(v, at);
  onlyKnown(p, PROGRAM_FIELDS, at);
  const binding = (x: unknown, path: string) => {
    const t = obj(x, path);
    return {
      name: str(t.name, `${path}.name`), dtype: str(t.dtype, `${path}.dtype`) as Program['inputs'][number]['dtype'], shape: arr(t.shape, `${path}.shape`, int), buffer: int(t.buffer, `${path}.buffer`),
      ...(t.dims === undefined ? {} : { dims: arr(t.dims, `${path}.dims`, word) }),
    };
  };
  return {
    version: int(p.version, `${at}.version`),
    name: str(p.name, `${at}.name`),
    inputs: arr(p.inputs, `${at}.inputs`, binding),
    outputs: arr(p.outputs, `${at}.outputs`, binding),
    buffers: arr(p.buffers, `${at}.buffers`, (x, path) => {
      const b = obj(x, path);
      return {
        id: int(b.id, `${path}.id`),
        bytes: int(b.bytes, `${path}.bytes`),
        role: str(b.role, `${path}.role`) as Program['buffers'][number]['role'],
        ...(b.weightOffset === undefined ? {} : { weightOffset: int(b.weightOffset, `${path}.weightOffset`) }),
        ...(b.label === undefined ? {} : { label: str(b.label, `${path}.label`) }),
      };
    }),
    kernels: arr(p.kernels, `${at}.kernels`, (x, path) => {
      const k = obj(x, path);
      return { name: str(k.name, `${path}.name`), entryPoint: str(k.entryPoint, `${path}.entryPoint`), file: file(k.file, `${path}.file`), sha256: sha(k.sha256, `${path}.sha256`) };
    }),
    dispatches: arr(p.dispatches, `${at}.dispatches`, (x, path) => {
      const d = obj(x, path);
      return {
        label: str(d.label, `${path}.label`),
        buffers: arr(d.buffers, `${path}.buffers`, int),
        ...kernelRun(d, path),
        ...(d.variants === undefined ? {} : {
          variants: arr(d.variants, `${path}.variants`, (y, vp) => {
            const v = obj(y, vp);
            const when = obj(v.when, `${vp}.when`);
            return {
              when: {
                size: str(when.size, `${vp}.when.size`),
                ...(when.min === undefined ? {} : { min: int(when.min, `${vp}.when.min`) }),
                ...(when.max === undefined ? {} : { max: int(when.max, `${vp}.when.max`) }),
              },
              ...kernelRun(v, vp),
            };
          }),
        }),
      };
    }),
    requiredFeatures: arr(p.requiredFeatures, `${at}.requiredFeatures`, str),
    ...(p.state === undefined ? {} : { state: arr(p.state, `${at}.state`, binding) }),
    ...(p.sizes === undefined ? {} : {
      sizes: arr(p.sizes, `${at}.sizes`, (x, path) => {
        const v = obj(x, path);
        return { name: str(v.name, `${path}.name`), min: int(v.min, `${path}.min`), max: int(v.max, `${path}.max`) };
      }),
    }),
    ...(p.stateUpdates === undefined ? {} : {
      stateUpdates: arr(p.stateUpdates, `${at}.stateUpdates`, (x, path) => {
        const u = obj(x, path);
        return { from: int(u.from, `${path}.from`), to: int(u.to, `${path}.to`) };
      }),
    }),
  };
}
