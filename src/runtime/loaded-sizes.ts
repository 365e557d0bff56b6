import { numel } from '../ir/types.js';
import type { LoadedProgram, Step } from './load.js';
import { deviceBufferBytes, type Program } from './program.js';
import { resolveProgram, type SizeValues } from './sizes.js';

/**
 * A program compiled for a range of shapes, made to compute for `sizes`: `base` (loaded with every
 * dispatch's variants as dispatches of their own; `variantAt[i]` lists where dispatch i's
 * variants and then its own kernel sit among its steps) with each dispatch's kernel variant for
 * `sizes`, their uniform words written (queued before the next run's commands, after earlier
 * runs'), and the workgroup counts, output shapes and readback sizes the sizes give. Nothing is
 * created: the kernels, buffers and bind groups made at load serve every size in the ranges.
 * Also returns the variant each dispatch chose (undefined: its own kernel).
 */
export function loadedForSizes(
  program: Program, base: LoadedProgram, variantAt: readonly (readonly number[])[], sizes: SizeValues, queue: GPUQueue,
): { loaded: LoadedProgram; chosen: (number | undefined)[] } {
  const resolved = resolveProgram(program, sizes);
  const at = resolved.dispatches.map((d, i) => {
    const own = variantAt[i]!;
    return own[d.variant ?? own.length - 1]!;
  });
  resolved.dispatches.forEach((d, i) => {
    const u = base.uniforms[at[i]!];
    if (u && d.uniforms) queue.writeBuffer(u.buffer, u.offset, Uint32Array.from(d.uniforms));
  });
  const sized = (steps: readonly Step[]) => resolved.dispatches.map((d, i) => ({ ...steps[at[i]!]!, workgroups: d.workgroups }));
  const outputs = new Map(resolved.outputs.map((o) => [o.name, o]));
  const readbacks = base.readbacks.map((r) => ({ ...r, output: outputs.get(r.output.name)! }));
  const bytesAt = new Map(readbacks.map((r) => [r.offset, deviceBufferBytes(r.output.dtype, numel(r.output.shape))]));
  const loaded = {
    ...base,
    steps: sized(base.steps),
    slots: base.slots.map((s) => ({ ...s, steps: sized(s.steps) })),
    readbacks,
    copies: base.copies.map((c) => ({ ...c, bytes: bytesAt.get(c.dstOffset) ?? c.bytes })),
    uniforms: at.map((e) => base.uniforms[e]),
  };
  return { loaded, chosen: resolved.dispatches.map((d) => d.variant) };
}
