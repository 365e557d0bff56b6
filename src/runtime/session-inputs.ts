import { KilnError } from '../ir/errors.js';
import { formatShapeType, shapesEqual } from '../ir/types.js';
import { hostDataProblem, toDeviceBytes } from './host-data.js';
import type { Program } from './program.js';
import { bindSizes, describeBinding, isDynamicProgram, type SizeValues } from './sizes.js';
import type { SessionInputs } from './session-options.js';

// A run's inputs checked against the program (names, dtypes, shapes, data) and turned into the
// bytes its input buffers take.

export interface PreparedInput {
  /** Buffer id of the program input. */
  readonly id: number;
  readonly bytes: ArrayBufferView;
}

/** A run's input bytes, and the sizes its input shapes bind (for a program compiled for a range of shapes). */
export interface PreparedRun {
  readonly writes: PreparedInput[];
  readonly sizes: SizeValues | undefined;
}

/** The bytes of each program input, in program order; throws a KilnError naming what does not match. */
export function prepareInputs(program: Program, inputs: SessionInputs): PreparedRun {
  const where = `program '${program.name}'`;
  if (typeof inputs !== 'object' || inputs === null) throw new KilnError(`${where}: run() takes an object of named input tensors`);
  const expected = new Map(program.inputs.map((t) => [t.name, t]));
  const signature = (): string => program.inputs.map((t) => `${t.name}: ${formatShapeType(t.dtype, t.shape)}`).join(', ') || 'no inputs';
  const unknown = Object.keys(inputs).filter((n) => !expected.has(n));
  const missing = program.inputs.filter((t) => !(t.name in inputs));
  if (unknown.length || missing.length) {
    const parts: string[] = [];
    if (unknown.length) parts.push(`unknown input(s) ${unknown.map((n) => `'${n}'`).join(', ')}`);
    if (missing.length) parts.push(`missing input(s) ${missing.map((t) => `'${t.name}'`).join(', ')}`);
    throw new KilnError(`${where}: ${parts.join('; ')}; it takes ${signature()}`);
  }
  for (const t of program.inputs) {
    const given = inputs[t.name]!;
    if (typeof given !== 'object' || given === null || !Array.isArray(given.shape) || !ArrayBuffer.isView(given.data)) {
      throw new KilnError(`input '${t.name}' must be tensor data { dtype, shape, data }, e.g. tensorData('${t.dtype}', [${t.shape.join(',')}], values)`);
    }
    if (given.dtype !== t.dtype) throw new KilnError(`input '${t.name}' expects ${describeBinding(t)}, got ${formatShapeType(given.dtype, given.shape)}`);
  }
  // The sizes come from the shapes, which bindSizes checks against the program's ranges.
  const sizes = isDynamicProgram(program) ? bindSizes(program, new Map(program.inputs.map((t) => [t.name, inputs[t.name]!.shape]))) : undefined;
  const writes = program.inputs.map((t) => {
    const given = inputs[t.name]!;
    if (!sizes && !shapesEqual(given.shape, t.shape)) {
      throw new KilnError(`input '${t.name}' expects ${formatShapeType(t.dtype, t.shape)}, got ${formatShapeType(given.dtype, given.shape)}`);
    }
    const problem = hostDataProblem(given);
    if (problem) throw new KilnError(`input '${t.name}': ${problem}`);
    return { id: t.buffer, bytes: toDeviceBytes(given) };
  });
  return { writes, sizes };
}
