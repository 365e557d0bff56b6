import { KilnError } from '../../ir/errors.js';
import type { DType } from '../../ir/types.js';
import { dimRange, dimsEqual, dimText, isSymbolic, parseSizeBound, type Dim } from '../../ir/size-expr.js';

/** Size names the suggested --input-shape form gives open dimensions. */
const SIZE_NAMES = ['N', 'H', 'W', 'S', 'T'];
import type { ValueInfoObject } from './proto.js';
import { kilnDType, UnsupportedOnnxError } from './tensor.js';

/**
 * Shapes for graph inputs, by input name (binds symbolic and unknown dimensions): each extent a
 * number, or a size that varies from run to run with its range (`'N<=32'`, `'8<=W<=1280'`).
 */
export type InputShapes = Readonly<Record<string, readonly (number | string)[]>>;

export interface InputSpec {
  readonly name: string;
  readonly dtype: DType;
  /** Extents; where `dims` is given, each one's largest value. */
  readonly shape: number[];
  /** The extents when some vary (sizes with their ranges). */
  readonly dims?: Dim[];
}

type OnnxDim = { dim_value?: number; dim_param?: string };

/** A dimension's fixed size; a negative one (some exporters write -1) is as unknown as none. */
function fixedSize(d: OnnxDim | undefined): number | undefined {
  const v = d?.dim_value;
  return v !== undefined && v >= 0 ? v : undefined;
}

/** One dimension as the model declares it: a number, a symbol, or unknown. */
function describeDim(d: OnnxDim | undefined): string {
  const v = fixedSize(d);
  if (v !== undefined) return String(v);
  return d?.dim_param ? `'${d.dim_param}'` : d?.dim_value !== undefined ? `unknown (${d.dim_value})` : 'unknown';
}

/**
 * The dtype and static shape of each graph input. Symbolic or unknown dimensions take their
 * extent from `bound`; every one left unbound is reported in one error that names the input,
 * the dimension and the option to bind it with.
 */
export function resolveInputs(inputs: readonly ValueInfoObject[], bound: InputShapes): InputSpec[] {
  const names = inputs.map((v) => v.name ?? '');
  const unknown = Object.keys(bound).filter((k) => !names.includes(k));
  if (unknown.length) {
    throw new KilnError(`input shapes were given for ${unknown.map((k) => `'${k}'`).join(', ')}, but the model's inputs are ${names.map((n) => `'${n}'`).join(', ') || 'none'}`);
  }
  const problems: string[] = [];
  const specs = inputs.map((v) => {
    const name = v.name ?? '';
    const tensor = v.type?.tensor_type;
    if (!tensor) throw new UnsupportedOnnxError(`graph input '${name}' is not a tensor (sequence, map and optional inputs are not supported)`);
    const dtype = kilnDType(tensor.elem_type ?? 0, `graph input '${name}'`);
    const declared = tensor.shape ? tensor.shape.dim ?? [] : undefined;
    const givenDims = bound[name]?.map((d): Dim => (typeof d === 'string' ? parseSizeBound(d) : d));
    const given = givenDims?.map((d) => dimRange(d)[1]);
    if (given && givenDims) {
      if (given.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new KilnError(`the shape given for input '${name}', [${given.join(',')}], has an invalid extent`);
      if (declared && declared.length !== given.length) {
        throw new KilnError(`input '${name}' has rank ${declared.length} ([${declared.map(describeDim).join(',')}]) but the shape given is [${given.join(',')}]`);
      }
      declared?.forEach((d, i) => {
        const fixed = fixedSize(d);
        if (fixed !== undefined && !dimsEqual(fixed, givenDims[i]!)) {
          throw new KilnError(`input '${name}' has dimension ${i} fixed at ${fixed} by the model, but the shape given is [${givenDims.map(dimText).join(',')}]`);
        }
      });
      return { name, dtype, shape: [...given], ...(givenDims.some(isSymbolic) ? { dims: givenDims } : {}) };
    }
    if (!declared) {
      problems.push(`input '${name}' has no declared shape (not even its rank)`);
      return { name, dtype, shape: [] };
    }
    const open = declared.flatMap((d, i) => (fixedSize(d) === undefined ? [`dimension ${i} (${describeDim(d)})`] : []));
    if (open.length) {
      // A form that is accepted as written: each open dimension a size with a range to edit, named
      // by the model's symbol where that is a name the shape syntax takes.
      let k = 0;
      const sizeName = (d: OnnxDim | undefined) => (d?.dim_param && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d.dim_param) ? d.dim_param : SIZE_NAMES[k++ % SIZE_NAMES.length]);
      const template = declared.map((d) => fixedSize(d) ?? `${sizeName(d)}<=64`).join(',');
      problems.push(`input '${name}' [${declared.map(describeDim).join(',')}] has ${open.join(', ')} unbound: give its shape, with fixed extents or sizes that vary within a range, e.g. --input-shape ${name}=${template} (or inputShapes: { '${name}': [...] })`);
    }
    return { name, dtype, shape: declared.map((d) => fixedSize(d) ?? 0) };
  });
  if (problems.length) throw new KilnError(`every input dimension needs a size or a range of sizes:\n  ${problems.join('\n  ')}`);
  return specs;
}
