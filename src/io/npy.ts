import { KilnError } from '../ir/errors.js';
import { stringsOf, type TensorData } from '../ir/tensor-data.js';
import { numel, type DType, type TypedArray } from '../ir/types.js';

// NumPy .npy files (format versions 1-3, little-endian, C order), the tensor exchange format of
// `kiln run --input/--save-outputs`. int64 and float64 arrays, which NumPy makes by default, are
// narrowed to kiln's i32 (range-checked: a value that does not fit fails) and f32. Unicode
// string arrays ('<U..') are string tensors.

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** How each .npy descr is read: element size, the host array, and the dtype it becomes. */
interface NpyKind {
  readonly dtype: DType;
  readonly itemBytes: number;
  read(bytes: Uint8Array, n: number, what: string): TypedArray;
}

/** A fresh, aligned copy of `b`'s bytes (never Buffer#slice, which shares Node's pooled memory). */
const copyOf = (b: Uint8Array): ArrayBuffer => new Uint8Array(b).buffer;

const copyAs = <T extends TypedArray>(Ctor: { new(b: ArrayBuffer): T }) => (bytes: Uint8Array): T =>
  // A copy: typed arrays need their offset aligned, which the data's place in the file is not.
  new Ctor(copyOf(bytes));

const KINDS: Readonly<Record<string, NpyKind>> = {
  '<f4': { dtype: 'f32', itemBytes: 4, read: copyAs(Float32Array) },
  '<f2': { dtype: 'f16', itemBytes: 2, read: copyAs(Uint16Array) },
  '<i4': { dtype: 'i32', itemBytes: 4, read: copyAs(Int32Array) },
  '<u4': { dtype: 'u32', itemBytes: 4, read: copyAs(Uint32Array) },
  '|b1': { dtype: 'bool', itemBytes: 1, read: (b) => Uint8Array.from(b, (v) => (v ? 1 : 0)) },
  '<f8': { dtype: 'f32', itemBytes: 8, read: (b) => Float32Array.from(new Float64Array(copyOf(b))) },
  '<i8': {
    dtype: 'i32', itemBytes: 8,
    read: (b, n, what) => {
      const wide = new BigInt64Array(copyOf(b));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = wide[i]!;
        if (v < -2147483648n || v > 2147483647n) {
          throw new KilnError(`${what}: int64 element ${i} is ${v}, which does not fit in kiln's i32 (WGSL has no 64-bit integers)`);
        }
        out[i] = Number(v);
      }
      return out;
    },
  },
};

/**
 * NumPy's fixed-width unicode strings, '<U{w}': w UTF-32 code points per element, padded with
 * zeros (which NumPy strips when it reads an element, so a string cannot end in U+0000).
 */
function unicodeKind(descr: string): NpyKind | undefined {
  const width = /^<U(\d+)$/.exec(descr)?.[1];
  if (width === undefined) return undefined;
  const w = Number(width);
  return {
    dtype: 'string', itemBytes: 4 * w,
    read: (b, n, what) => {
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const points: number[] = [];
        for (let k = 0; k < w; k++) {
          const c = view.getUint32(4 * (i * w + k), true);
          if (c === 0) break;
          if (c > 0x10ffff) throw new KilnError(`${what}: element ${i} holds ${c}, which is not a Unicode code point`);
          points.push(c);
        }
        out[i] = String.fromCodePoint(...points);
      }
      return out as unknown as TypedArray;
    },
  };
}

const OBJECT_ARRAYS = "dtype 'O' (Python objects) is not supported: NumPy pickles such arrays; save strings as fixed-width unicode with np.save(path, a.astype(str))";

/** A string tensor as '<U{w}' data, w the longest element's code point count (at least 1). */
function unicodeBytes(strings: readonly string[]): { descr: string; bytes: Uint8Array } {
  const points = strings.map((s) => Array.from(s, (c) => c.codePointAt(0)!));
  const w = Math.max(1, ...points.map((p) => p.length));
  const out = new Uint32Array(strings.length * w);
  points.forEach((p, i) => out.set(p, i * w));
  const bytes = new Uint8Array(out.buffer);
  if (!LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  return { descr: `<U${w}`, bytes };
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The descr each dtype is written with. */
const DESCR: Readonly<Record<Exclude<DType, 'string'>, string>> = { f32: '<f4', f16: '<f2', i32: '<i4', u32: '<u4', bool: '|b1' };

/** Parses a .npy file's bytes as tensor data; `what` names it in errors (e.g. the file path). */
export function readNpy(bytes: Uint8Array, what: string): TensorData {
  const fail = (msg: string): never => {
    throw new KilnError(`${what}: ${msg}`);
  };
  if (bytes.byteLength < 10 || !MAGIC.every((b, i) => bytes[i] === b)) fail('not a NumPy .npy file (no \\x93NUMPY magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`.npy format version ${major}.${bytes[7]} is not supported (1.0, 2.0 and 3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.byteLength) fail('the header is truncated');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, dataStart));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header)?.[1] ?? fail(`no 'descr' in the header ${header.trim()}`);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1] ?? fail(`no 'fortran_order' in the header ${header.trim()}`);
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail(`no 'shape' in the header ${header.trim()}`);
  if (fortran === 'True') fail('the array is in Fortran order; save it with np.save(path, np.ascontiguousarray(a))');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const d = Number(s.replace(/L$/, ''));
    if (!Number.isSafeInteger(d) || d < 0) fail(`bad dimension '${s}' in shape (${shapeText})`);
    return d;
  });
  // NumPy writes '<' for little-endian and '|' where byte order does not apply; '=' is native, little here.
  const normalized = descr.replace(/^=/, '<').replace(/^\|(?=[fiu][248])/, '<');
  const kind = KINDS[normalized] ?? unicodeKind(normalized) ?? (descr.replace(/^[<>|=]/, '') === 'O' ? fail(OBJECT_ARRAYS) : undefined);
  if (!kind) {
    const hint = descr.startsWith('>') ? ' (big-endian; convert with a.astype(a.dtype.newbyteorder("<")))' : '';
    fail(`dtype '${descr}' is not supported${hint}; kiln reads ${Object.keys(KINDS).join(', ')} and <U (unicode strings)`);
  }
  const n = numel(shape);
  const need = n * kind!.itemBytes;
  const have = bytes.byteLength - dataStart;
  if (have < need) fail(`shape (${shape.join(', ')}) of '${descr}' needs ${need} data bytes but the file has ${have} (truncated?)`);
  if (have > need) fail(`the file has ${have - need} bytes after the data of shape (${shape.join(', ')}) '${descr}'`);
  const data = kind!.read(bytes.subarray(dataStart, dataStart + need), n, what);
  return { dtype: kind!.dtype, shape, data };
}

/** A tensor as the bytes of a .npy file (version 1.0 unless the header needs 2.0). */
export function writeNpy(t: TensorData): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  const strings = t.dtype === 'string' ? unicodeBytes(stringsOf(t)) : undefined;
  const dict = `{'descr': '${strings?.descr ?? DESCR[t.dtype as Exclude<DType, 'string'>]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // The header (with its padding and newline) ends at a multiple of 64 bytes, as NumPy writes it.
  const pad = (prefix: number) => (64 - ((prefix + dict.length + 1) % 64)) % 64;
  const v1 = dict.length + pad(10) + 1 < 65536;
  const prefix = v1 ? 10 : 12;
  const header = `${dict}${' '.repeat(pad(prefix))}\n`;
  const data = strings ? strings.bytes : t.dtype === 'bool' ? Uint8Array.from(t.data, (v) => (v ? 1 : 0)) : new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(prefix + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(data, prefix + header.length);
  return out;
}
