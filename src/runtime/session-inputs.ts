import { KilnError } from '../ir/errors.js';
import { formatShapeType, shapesEqual } from '../ir/types.js';
import type { GpuDevice } from './device.js';
import { DeviceTensor } from './device-tensor.js';
import { hostDataProblem, toDeviceBytes } from './host-data.js';
import type { Program } from './program.js';
import { bindSizes, describeBinding, isDynamicProgram, type SizeValues } from './sizes.js';
import type { SessionInputs } from './session-options.js';
import type { UploadStaging } from './upload-staging.js';

// A run's inputs checked against the program (names, dtypes, shapes, data) and turned into the
// bytes its input buffers take, or the device tensors copied into them.

/** What fills a program input's buffer (its id): host bytes, or a device tensor's buffer. */
export type PreparedInput = { readonly id: number; readonly bytes: ArrayBufferView } | { readonly id: number; readonly name: string; readonly tensor: DeviceTensor };

/** A run's input bytes, and the sizes its input shapes bind (for a program compiled for a range of shapes). */
export interface PreparedRun {
  readonly writes: PreparedInput[];
  readonly sizes: SizeValues | undefined;
}

/** What fills each program input, in program order; throws a KilnError naming what does not match. */
export function prepareInputs(program: Program, inputs: SessionInputs, gpu: GpuDevice): PreparedRun {
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
    if (given instanceof DeviceTensor) {
      const why = given.problem(gpu);
      if (why) throw new KilnError(`input '${t.name}': ${why}`);
    } else if (typeof given !== 'object' || given === null || !Array.isArray(given.shape) || !ArrayBuffer.isView(given.data)) {
      throw new KilnError(`input '${t.name}' must be tensor data { dtype, shape, data } (e.g. tensorData('${t.dtype}', [${t.shape.join(',')}], values)) or a DeviceTensor`);
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
    if (given instanceof DeviceTensor) return { id: t.buffer, name: t.name, tensor: given };
    const problem = hostDataProblem(given);
    if (problem) throw new KilnError(`input '${t.name}': ${problem}`);
    return { id: t.buffer, bytes: toDeviceBytes(given) };
  });
  return { writes, sizes };
}

/**
 * Fills input buffers `buffers` (by id) with `inputs`: host bytes by writeBuffer (landing at the
 * next submit) or, when large, by copies from `uploads`' staging buffers; device tensors by
 * copies. The copies are in the command buffer returned (undefined: none), to be submitted before
 * the commands that read the inputs. A device tensor destroyed since the run was asked for fails
 * here, naming the input.
 */
export function writeInputs(gpu: GpuDevice, buffers: ReadonlyMap<number, GPUBuffer>, inputs: readonly PreparedInput[], label: string, uploads: UploadStaging): GPUCommandBuffer | undefined {
  let encoder: GPUCommandEncoder | undefined;
  const encode = () => (encoder ??= gpu.device.createCommandEncoder({ label }));
  for (const p of inputs) {
    const dst = buffers.get(p.id)!;
    if ('bytes' in p) {
      if (p.bytes.byteLength > 0 && !uploads.upload(encode, dst, p.bytes)) gpu.device.queue.writeBuffer(dst, 0, p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
      continue;
    }
    const why = p.tensor.problem(gpu);
    if (why) throw new KilnError(`input '${p.name}': ${why}`);
    encode().copyBufferToBuffer(p.tensor.buffer, 0, dst, 0, p.tensor.bytes);
  }
  return encoder?.finish();
}
