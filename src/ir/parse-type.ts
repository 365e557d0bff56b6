// Types in IR text (`f32[N,3,48,W] @webgpu`) and the `sizes(...)` header giving the ranges of
// the size names they use: syntax-tree tokens to TensorTypes, each error at its token.
import type { IToken } from 'chevrotain';
import { errorAt, NumberTok, rethrowAt, Str, stringValue } from './lexer.js';
import { isSymbolic, parseDim, type Dim, type SizeVar } from './size-expr.js';
import { boundShape } from './symbolic-shapes.js';
import { DEVICES, DTYPES, isDevice, isDType, type TensorType } from './types.js';

/** A type as the grammar reads it: dtype, dimensions and device tokens. */
export interface TypeAst { dtype: IToken; dims: IToken[]; device: IToken }
/** One `NAME: [MIN, MAX]` of a sizes header. */
export interface SizeAst { name: IToken; min: IToken; max: IToken }

export type SizeTable = ReadonlyMap<string, SizeVar>;

/** The size ranges a graph header declares, over those of the graph it is nested in. */
export function sizeTable(sizes: readonly SizeAst[], outer: SizeTable): SizeTable {
  const table = new Map(outer);
  for (const s of sizes) {
    const bound = (t: IToken) => {
      if (!/^\d+$/.test(t.image)) throw errorAt(t, `expected a size bound (a non-negative integer) but found '${t.image}'`);
      return Number(t.image);
    };
    const [min, max] = [bound(s.min), bound(s.max)];
    if (max < min) throw errorAt(s.max, `size ${s.name.image}: its largest value ${max} is below its smallest ${min}`);
    table.set(s.name.image, { name: s.name.image, min, max });
  }
  return table;
}

export function toType(t: TypeAst, sizes: SizeTable): TensorType {
  const dtype = t.dtype.image;
  if (!isDType(dtype)) throw errorAt(t.dtype, `expected a dtype (${DTYPES.join(', ')}) but found '${dtype}'`);
  const dims = t.dims.map((d): Dim => {
    if (d.tokenType === NumberTok) {
      if (!/^\d+$/.test(d.image)) throw errorAt(d, `expected a dimension (a non-negative integer) but found '${d.image}'`);
      return Number(d.image);
    }
    const text = d.tokenType === Str ? stringValue(d) : d.image;
    return rethrowAt(d, () => parseDim(text, sizes));
  });
  const written = t.device.image.slice(1);
  const device = written === 'webgpu:0' ? 'webgpu' : written;
  if (!isDevice(device)) throw errorAt(t.device, `expected a device (${DEVICES.slice(0, -1).map((x) => `@${x}`).join(', ')} or @${DEVICES.at(-1)!}) but found '${t.device.image}'`);
  return dims.some(isSymbolic) ? { dtype, shape: boundShape(dims), device, dims } : { dtype, shape: dims as number[], device };
}

