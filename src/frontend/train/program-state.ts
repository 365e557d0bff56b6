import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { formatShapeType, shapesEqual } from '../../ir/types.js';
import { toDeviceBytes } from '../../runtime/host-data.js';
import type { BufferSpec, Program, StateUpdate, TensorBinding } from '../../runtime/program.js';

/** A program input that becomes persistent state. */
export interface StateSpec {
  /** The program input holding the state's current value. */
  readonly input: string;
  /** Its value before the first run. */
  readonly init: TensorData;
  /**
   * The program output holding its value for the next run, by name or by index into the
   * program's outputs (none: the state stays constant).
   */
  readonly update?: string | number;
}

const ALIGN = 16;

/**
 * Turns program inputs into persistent state: each one's buffer takes the role 'state' with its
 * initial bytes appended to the weights blob, and the program output that `update` names is
 * copied into it at the end of every run (and is no longer read back). Returns a new Program;
 * the state keeps the input's name.
 */
export function withState(program: Program, specs: readonly StateSpec[]): Program {
  const where = `program '${program.name}'`;
  const inputs = new Map(program.inputs.map((t) => [t.name, t]));
  const outputs = new Map(program.outputs.map((t) => [t.name, t]));
  const buffers = new Map(program.buffers.map((b) => [b.id, b]));
  const chunks: Uint8Array[] = [program.weights];
  let size = Math.ceil(program.weights.byteLength / ALIGN) * ALIGN;
  if (size > program.weights.byteLength) chunks.push(new Uint8Array(size - program.weights.byteLength));
  const state: TensorBinding[] = [];
  const updates: StateUpdate[] = [];
  const dropped = new Set<TensorBinding>();
  for (const s of specs) {
    const input = inputs.get(s.input);
    if (!input) throw new KilnError(`${where} has no input '${s.input}' to hold state`);
    if (s.init.dtype !== input.dtype || !shapesEqual(s.init.shape, input.shape)) {
      throw new KilnError(`state '${s.input}' is ${formatShapeType(input.dtype, input.shape)}, but its initial value is ${formatShapeType(s.init.dtype, s.init.shape)}`);
    }
    const bytes = toDeviceBytes(s.init);
    const buffer = buffers.get(input.buffer)!;
    buffers.set(buffer.id, { ...buffer, role: 'state', weightOffset: size } satisfies BufferSpec);
    chunks.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const padded = Math.ceil(buffer.bytes / ALIGN) * ALIGN;
    if (padded > bytes.byteLength) chunks.push(new Uint8Array(padded - bytes.byteLength));
    size += padded;
    state.push(input);
    inputs.delete(s.input);
    if (s.update === undefined) continue;
    const out = typeof s.update === 'number' ? program.outputs[s.update] : outputs.get(s.update);
    if (!out) throw new KilnError(`${where} has no output '${s.update}' to update state '${s.input}' from`);
    if (out.dtype !== input.dtype || !shapesEqual(out.shape, input.shape)) {
      throw new KilnError(`state '${s.input}' (${formatShapeType(input.dtype, input.shape)}) cannot be updated from output '${s.update}' (${formatShapeType(out.dtype, out.shape)})`);
    }
    dropped.add(out);
    if (out.buffer !== input.buffer) updates.push({ from: out.buffer, to: input.buffer });
  }
  const weights = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) { weights.set(c, off); off += c.byteLength; }
  return {
    ...program,
    inputs: program.inputs.filter((t) => inputs.has(t.name)),
    outputs: program.outputs.filter((t) => !dropped.has(t)),
    buffers: program.buffers.map((b) => buffers.get(b.id)!),
    weights,
    state: [...(program.state ?? []), ...state],
    stateUpdates: [...(program.stateUpdates ?? []), ...updates],
  };
}
