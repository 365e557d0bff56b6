// Graph inputs whose values the importer needs: ONNX passes parameters (axes, pads, scales,
// sizes, starts, repeats, K, conditions...) as tensors, and a model may make them graph inputs.
// kiln compiles static shapes and parameters, so such an input must be given a value at import
// (`inputValues`), which makes it a constant of the compiled program instead of an input.
import { KilnError } from '../../ir/errors.js';
import type { Value } from '../../ir/graph.js';
import { isTensorData, type TensorData } from '../../ir/tensor-data.js';
import { allocTyped, formatShapeType, numel, shapesEqual, type DType } from '../../ir/types.js';
import { f32ToF16Bits } from '../../ir/f16.js';
import type { ValueInfoObject } from './proto.js';
import { constTensor, UnsupportedOnnxError, type ConstTensor } from './tensor.js';

/**
 * The value given for a graph input: host data in the input's kiln dtype (a ConstTensor keeps
 * int64 values past the i32 range exactly), or plain numbers, which take the input's dtype and
 * make a vector (a scalar where the input is declared rank 0).
 */
export type InputValue = TensorData | ConstTensor | readonly number[];

/** Values of graph inputs by name, frozen into the imported graph as constants. */
export type InputValues = Readonly<Record<string, InputValue>>;

/** One use of a graph input's value at import time: which input, and what it decides. */
export interface InputValueNeed {
  readonly input: string;
  /** e.g. `the axes of node 'r' (ReduceSum)`. */
  readonly use: string;
}

/**
 * The model computes parameters that decide shapes or attributes from graph inputs, whose values
 * are therefore needed at import. Every such input found is listed at once (`inputs`), so that a
 * caller holding the values can import again with them as `inputValues`.
 */
export class InputValuesNeededError extends UnsupportedOnnxError {
  override name = 'InputValuesNeededError';
  /** The inputs, each once, in the order they were first needed. */
  readonly inputs: readonly string[];

  constructor(readonly needs: readonly InputValueNeed[]) {
    const inputs = [...new Set(needs.map((n) => n.input))];
    const uses = inputs.map((name) => `'${name}' (${needs.filter((n) => n.input === name).map((n) => n.use).join('; ')})`);
    super(
      `kiln compiles static shapes and parameters, and the model computes some from its inputs at run time: `
      + `the value${inputs.length === 1 ? '' : 's'} of input${inputs.length === 1 ? '' : 's'} ${uses.join(', ')} must be known when it is compiled; `
      + `give ${inputs.length === 1 ? 'it' : 'them'} (kiln compile --input-value NAME=V0,V1,... or NAME=FILE.npy; kiln run binds them from its --input files; inputValues in the API)`,
    );
    this.inputs = inputs;
  }
}

/** The graph inputs a value is computed from (none for values made by sources such as random ops). */
export function graphInputsOf(v: Value): Value[] {
  const seen = new Set<Value>();
  const found: Value[] = [];
  const stack = [v];
  while (stack.length) {
    const x = stack.pop()!;
    if (seen.has(x)) continue;
    seen.add(x);
    if (!x.producer) found.push(x);
    else stack.push(...x.producer.inputs);
  }
  return found.sort((a, b) => a.id - b.id);
}

/**
 * The constant an input becomes, checked against the dtype and shape the model declares for it
 * (`shape` is the declared one with symbolic dimensions bound).
 */
export function inputConstant(name: string, given: InputValue, dtype: DType, shape: readonly number[]): ConstTensor {
  const c = asConst(name, given, dtype, shape.length === 0);
  if (c.data.dtype !== dtype || !shapesEqual(c.data.shape, shape)) {
    throw new KilnError(`the value given for input '${name}' is ${formatShapeType(c.data.dtype, c.data.shape)}, but the model declares it ${formatShapeType(dtype, shape)}`);
  }
  return c;
}

/** The rank an input is declared with, if it declares a shape. */
export function declaredRank(v: ValueInfoObject): number | undefined {
  const shape = v.type?.tensor_type?.shape;
  return shape ? shape.dim?.length ?? 0 : undefined;
}

/** The shape of a given value; plain numbers make a vector, or a scalar where the input is declared rank 0. */
export function givenShape(given: InputValue, declaredRank: number | undefined): readonly number[] {
  if (isConstTensor(given)) return given.data.shape;
  if (isTensorData(given)) return given.shape;
  return declaredRank === 0 ? [] : [(given as readonly number[]).length];
}

function asConst(name: string, given: InputValue, dtype: DType, scalar: boolean): ConstTensor {
  if (isConstTensor(given)) return constTensor(name, given.data, given.wide);
  if (isTensorData(given)) return constTensor(name, given);
  return numbersConst(name, given as readonly number[], dtype, scalar);
}

function isConstTensor(v: InputValue): v is ConstTensor {
  return (v as ConstTensor).kind === 'const';
}

/** Plain numbers in a kiln dtype; integers past i32 (u32) are kept exactly, as int64 initializers are. */
function numbersConst(name: string, values: readonly number[], dtype: DType, scalar: boolean): ConstTensor {
  if (scalar && values.length !== 1) throw new KilnError(`input '${name}' is a scalar, but ${values.length} values were given for it`);
  const shape = scalar ? [] : [values.length];
  const data = allocTyped(dtype, numel(shape));
  const [lo, hi] = dtype === 'u32' ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
  let wide: Float64Array | undefined;
  values.forEach((x, i) => {
    if (Number.isNaN(x) && dtype !== 'f32' && dtype !== 'f16') throw new KilnError(`input '${name}' is ${dtype}, but value ${i} given for it is not a number`);
    if (dtype === 'i32' || dtype === 'u32') {
      if (!Number.isInteger(x)) throw new KilnError(`input '${name}' is ${dtype}, but value ${i} given for it, ${x}, is not an integer`);
      if (x < lo || x > hi) wide ??= Float64Array.from(values);
      data[i] = Math.min(hi, Math.max(lo, x));
    } else if (dtype === 'f16') data[i] = f32ToF16Bits(x);
    else if (dtype === 'bool') data[i] = x ? 1 : 0;
    else data[i] = x;
  });
  return constTensor(name, { dtype, shape, data }, wide);
}
