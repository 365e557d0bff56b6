// Builds small ONNX models in tests with protobufjs and kiln's copy of the ONNX schema.
import { onnxRoot } from '../../../src/frontend/onnx/proto.js';
import { OnnxType } from '../../../src/frontend/onnx/tensor.js';

export { OnnxType };

/** An attribute value tagged with its ONNX type (a bare number would be ambiguous). */
export type AttrInit =
  | { f: number } | { i: number } | { s: string } | { t: object }
  | { floats: number[] } | { ints: number[] } | { strings: string[] } | { g: object };

export const attr = {
  f: (f: number): AttrInit => ({ f }),
  i: (i: number): AttrInit => ({ i }),
  s: (s: string): AttrInit => ({ s }),
  t: (t: object): AttrInit => ({ t }),
  floats: (floats: number[]): AttrInit => ({ floats }),
  ints: (ints: number[]): AttrInit => ({ ints }),
  strings: (strings: string[]): AttrInit => ({ strings }),
  /** A graph attribute, e.g. an If branch built with subgraph(). */
  g: (g: object): AttrInit => ({ g }),
};

function attributeProto(name: string, a: AttrInit): object {
  if ('f' in a) return { name, type: 1, f: a.f };
  if ('i' in a) return { name, type: 2, i: a.i };
  if ('s' in a) return { name, type: 3, s: new TextEncoder().encode(a.s) };
  if ('t' in a) return { name, type: 4, t: a.t };
  if ('floats' in a) return { name, type: 6, floats: a.floats };
  if ('g' in a) return { name, type: 5, g: a.g };
  if ('strings' in a) return { name, type: 8, strings: a.strings.map((s) => new TextEncoder().encode(s)) };
  return { name, type: 7, ints: a.ints };
}

export interface NodeInit {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrInit>;
  name?: string;
  domain?: string;
}

/** A NodeProto (as a plain object). */
export function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrInit> = {}, name?: string): NodeInit {
  return { op, inputs, outputs, attrs, ...(name ? { name } : {}) };
}

/** How a test tensor's values are stored in the TensorProto. */
export type Encoding = 'raw' | 'typed';

const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

/** Little-endian raw bytes of `values` as ONNX type `type` (f16 / bf16 values are given as bits). */
export function rawBytes(type: number, values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * BYTES[type]!);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => {
    switch (type) {
      case OnnxType.FLOAT: v.setFloat32(4 * i, x, true); break;
      case OnnxType.DOUBLE: v.setFloat64(8 * i, x, true); break;
      case OnnxType.INT64: v.setBigInt64(8 * i, BigInt(x), true); break;
      case OnnxType.UINT64: v.setBigUint64(8 * i, BigInt(x), true); break;
      case OnnxType.INT32: v.setInt32(4 * i, x, true); break;
      case OnnxType.UINT32: v.setUint32(4 * i, x, true); break;
      case OnnxType.INT16: v.setInt16(2 * i, x, true); break;
      case OnnxType.UINT16: case OnnxType.FLOAT16: case OnnxType.BFLOAT16: v.setUint16(2 * i, x, true); break;
      case OnnxType.INT8: v.setInt8(i, x); break;
      default: v.setUint8(i, x);
    }
  });
  return out;
}

/** A TensorProto holding `values` in the given encoding (typed: onnx.proto's field for the type). */
export function tensor(name: string, type: number, dims: number[], values: readonly number[], encoding: Encoding = 'raw'): object {
  const base = { name, data_type: type, dims };
  if (encoding === 'raw') return { ...base, raw_data: rawBytes(type, values) };
  switch (type) {
    case OnnxType.FLOAT: return { ...base, float_data: values };
    case OnnxType.DOUBLE: return { ...base, double_data: values };
    case OnnxType.INT64: return { ...base, int64_data: values };
    case OnnxType.UINT32: case OnnxType.UINT64: return { ...base, uint64_data: values };
    default: return { ...base, int32_data: values };
  }
}

export interface IoInit {
  name: string;
  type?: number;
  /** Extents; strings are symbolic dims, null an unknown one; undefined: no shape at all. */
  dims?: (number | string | null)[];
}

export interface ModelInit {
  opset?: number;
  irVersion?: number;
  inputs: IoInit[];
  outputs: IoInit[];
  nodes: NodeInit[];
  initializers?: object[];
  name?: string;
  /** Omit opset_import entirely (a broken model). */
  noOpset?: boolean;
}

function valueInfo(io: IoInit): object {
  const tensorType: Record<string, unknown> = { elem_type: io.type ?? OnnxType.FLOAT };
  if (io.dims) {
    tensorType['shape'] = {
      dim: io.dims.map((d) => (typeof d === 'number' ? { dim_value: d } : d === null ? {} : { dim_param: d })),
    };
  }
  return { name: io.name, type: { tensor_type: tensorType } };
}

function nodeObject(n: NodeInit): object {
  return {
    op_type: n.op, input: n.inputs, output: n.outputs, ...(n.name ? { name: n.name } : {}), ...(n.domain ? { domain: n.domain } : {}),
    attribute: Object.entries(n.attrs ?? {}).map(([k, a]) => attributeProto(k, a)),
  };
}

/** A GraphProto (as a plain object) for a graph attribute: nodes and outputs, no inputs. */
export function subgraph(name: string, nodes: NodeInit[], outputs: IoInit[], initializers: object[] = []): object {
  return { name, node: nodes.map(nodeObject), output: outputs.map(valueInfo), initializer: initializers };
}

/** The ModelProto as a plain object (to tweak before encoding). */
export function modelObject(m: ModelInit): Record<string, unknown> {
  return {
    ir_version: m.irVersion ?? 8,
    producer_name: 'kiln-tests',
    ...(m.noOpset ? {} : { opset_import: [{ domain: '', version: m.opset ?? 17 }] }),
    graph: {
      name: m.name ?? 'test_graph',
      node: m.nodes.map(nodeObject),
      initializer: m.initializers ?? [],
      input: m.inputs.map(valueInfo),
      output: m.outputs.map(valueInfo),
    },
  };
}

/** Encodes a ModelProto plain object. */
export function encodeModelObject(obj: Record<string, unknown>): Uint8Array {
  const type = onnxRoot().lookupType('onnx.ModelProto');
  const problem = type.verify(obj);
  if (problem) throw new Error(`test model is invalid: ${problem}`);
  return type.encode(type.fromObject(obj)).finish();
}

/** Encodes a small ONNX model. */
export function buildModel(m: ModelInit): Uint8Array {
  return encodeModelObject(modelObject(m));
}

/** Encodes a TensorProto plain object. */
export function encodeTensor(obj: object): Uint8Array {
  const type = onnxRoot().lookupType('onnx.TensorProto');
  return type.encode(type.fromObject(obj)).finish();
}

/** A node of the com.microsoft domain. */
export function msNode(op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrInit> = {}): NodeInit {
  return { ...node(op, inputs, outputs, attrs), domain: 'com.microsoft' };
}

/** A model importing the default domain (opset 17 unless told) and com.microsoft version 1. */
export function contribModel(m: ModelInit): Uint8Array {
  const obj = modelObject(m);
  (obj['opset_import'] as object[]).push({ domain: 'com.microsoft', version: 1 });
  return encodeModelObject(obj);
}
