import { KilnError } from '../../ir/errors.js';
import type { TensorData } from '../../ir/tensor-data.js';
import { dtypeBytes, numel, type DType } from '../../ir/types.js';

// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON { name: { dtype, shape, data_offsets: [begin, end] }, ...,
// "__metadata__"?: { string: string } }, then the tensors' bytes, little-endian, row-major,
// offsets relative to the end of the header. Small enough to implement here without a dependency.

/** safetensors dtype names of the dtypes kiln writes. */
const WRITE_NAME: Readonly<Record<DType, string | undefined>> = { f32: 'F32', f16: 'F16', i32: 'I32', u32: 'U32', bool: 'BOOL', string: undefined };

/** What kiln reads each safetensors dtype as: bytes per element and how to turn bytes into kiln data. */
interface ReadRule {
  readonly bytes: number;
  readonly dtype: DType;
  /** Converts when kiln has no such dtype (PyTorch's int64 and bfloat16). */
  readonly convert?: (src: DataView, n: number, name: string) => TensorData['data'];
}

const READ: Readonly<Record<string, ReadRule>> = {
  F32: { bytes: 4, dtype: 'f32' },
  F16: { bytes: 2, dtype: 'f16' },
  I32: { bytes: 4, dtype: 'i32' },
  U32: { bytes: 4, dtype: 'u32' },
  BOOL: { bytes: 1, dtype: 'bool' },
  // WGSL has no 64-bit integers: int64 is lowered to i32, failing loudly when a value does not fit.
  I64: {
    bytes: 8, dtype: 'i32',
    convert: (src, n, name) => {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = src.getBigInt64(i * 8, true);
        if (v < -(2n ** 31n) || v >= 2n ** 31n) throw new KilnError(`safetensors: tensor '${name}' (I64) holds ${v} at element ${i}, which does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    },
  },
  // bfloat16 is the top half of a float32: widening is exact.
  BF16: {
    bytes: 2, dtype: 'f32',
    convert: (src, n) => {
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = src.getUint16(i * 2, true) << 16;
      return new Float32Array(bits.buffer);
    },
  },
};

// Header sizes beyond this are refused, as the reference implementation does.
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new KilnError('safetensors: this host is big-endian; kiln reads and writes safetensors on little-endian hosts only');
}

/** The contents of a safetensors file: tensors by name, and its string metadata. */
export interface Safetensors {
  readonly tensors: Record<string, TensorData>;
  readonly metadata: Record<string, string>;
}

/** Encodes host tensors (and optional string metadata) as safetensors bytes. */
export function encodeSafetensors(tensors: Readonly<Record<string, TensorData>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  requireLittleEndian();
  // Largest elements first keeps every tensor aligned to its element size, as the reference writer does.
  const names = Object.keys(tensors).sort((a, b) => dtypeBytes(tensors[b]!.dtype) - dtypeBytes(tensors[a]!.dtype) || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new KilnError(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header['__metadata__'] = { ...metadata };
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new KilnError("safetensors: '__metadata__' is reserved and cannot name a tensor");
    const t = tensors[name]!;
    const dtype = WRITE_NAME[t.dtype];
    if (!dtype) throw new KilnError(`safetensors: tensor '${name}' is a ${t.dtype} tensor, which the format cannot hold`);
    const bytes = t.data.byteLength;
    if (t.data.length !== numel(t.shape)) throw new KilnError(`safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(',')}]`);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned.
  const utf8 = new TextEncoder();
  let head = utf8.encode(json);
  const pad = (8 - (head.byteLength % 8)) % 8;
  if (pad) head = utf8.encode((json += ' '.repeat(pad)));
  const out = new Uint8Array(8 + head.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/** Decodes safetensors bytes; `source` names them in errors (e.g. the file path). */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): Safetensors {
  requireLittleEndian();
  const fail = (msg: string): never => {
    throw new KilnError(`${source}: ${msg}`);
  };
  if (bytes.byteLength < 8) fail(`too short for a safetensors file (${bytes.byteLength} bytes; the header length alone takes 8)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.byteLength - 8)) fail(`the header claims ${n} bytes but only ${bytes.byteLength - 8} follow (not a safetensors file, or truncated)`);
  if (n > BigInt(MAX_HEADER)) fail(`the header claims ${n} bytes, more than the ${MAX_HEADER} allowed`);
  const headerBytes = bytes.subarray(8, 8 + Number(n));
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(`the header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header must be a JSON object');
  const data = bytes.subarray(8 + Number(n));
  const metadata: Record<string, string> = {};
  const tensors: Record<string, TensorData> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) fail(`tensor '${name}': its entry must be an object`);
    const rule = typeof e.dtype === 'string' ? READ[e.dtype] : undefined;
    if (!rule) fail(`tensor '${name}': dtype ${JSON.stringify(e.dtype)} is not supported (kiln reads ${Object.keys(READ).join(', ')})`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}': shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(`tensor '${name}': data_offsets ${JSON.stringify(offs)} must be [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offs as [number, number];
    if (end > data.byteLength) fail(`tensor '${name}': data_offsets [${begin}, ${end}] lie past the end of the ${data.byteLength}-byte data`);
    const count = numel(shape as number[]);
    if (end - begin !== count * rule!.bytes) {
      fail(`tensor '${name}': ${e.dtype as string}[${(shape as number[]).join(',')}] needs ${count * rule!.bytes} bytes but data_offsets give ${end - begin}`);
    }
    spans.push({ name, begin, end });
    // A copy with its own, aligned buffer (Node's Buffer.slice would share the file's memory).
    const raw = new Uint8Array(end - begin);
    raw.set(data.subarray(begin, end));
    const values = rule!.convert ? rule!.convert(new DataView(raw.buffer), count, name) : typedView(rule!.dtype, raw.buffer, count, name);
    tensors[name] = { dtype: rule!.dtype, shape: shape as number[], data: values };
  }
  // The format requires the data to be covered exactly, without holes or overlaps.
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of spans) {
    if (s.begin !== at) fail(s.begin < at ? `tensor '${s.name}' overlaps the tensor before it` : `there is a hole of ${s.begin - at} bytes before tensor '${s.name}'`);
    at = s.end;
  }
  if (at !== data.byteLength) fail(`${data.byteLength - at} bytes after the last tensor belong to none`);
  return { tensors, metadata };
}

function typedView(dtype: DType, buffer: ArrayBufferLike, n: number, name: string): TensorData['data'] {
  switch (dtype) {
    case 'string': throw new Error('internal: safetensors holds no string tensors');
    case 'f32': return new Float32Array(buffer, 0, n);
    case 'f16': return new Uint16Array(buffer, 0, n);
    case 'i32': return new Int32Array(buffer, 0, n);
    case 'u32': return new Uint32Array(buffer, 0, n);
    case 'bool': {
      const b = new Uint8Array(buffer, 0, n);
      for (let i = 0; i < n; i++) if (b[i]! > 1) throw new KilnError(`safetensors: BOOL tensor '${name}' holds the byte ${b[i]} (only 0 and 1 are booleans)`);
      return b;
    }
  }
}
