import protobuf from 'protobufjs';
import { KilnError } from '../../ir/errors.js';
import { ONNX_PROTO } from './onnx-schema.js';

// Plain-object views of decoded ONNX messages (protobufjs' toObject with 64-bit integers as
// numbers: values past 2^53 lose precision, which only ever matters for "to the end" markers
// such as INT64_MAX, whose meaning survives). Absent optional fields are undefined.

export interface StringStringEntry { key?: string; value?: string }

export interface TensorProtoObject {
  dims?: number[];
  data_type?: number;
  segment?: { begin?: number; end?: number };
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: number[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: StringStringEntry[];
  data_location?: number;
  double_data?: number[];
  uint64_data?: number[];
}

export interface DimensionObject { dim_value?: number; dim_param?: string }

export interface TypeProtoObject {
  tensor_type?: { elem_type?: number; shape?: { dim?: DimensionObject[] } };
  sequence_type?: { elem_type?: TypeProtoObject };
  map_type?: unknown;
  optional_type?: { elem_type?: TypeProtoObject };
  sparse_tensor_type?: unknown;
}

export interface ValueInfoObject { name?: string; type?: TypeProtoObject }

export interface AttributeObject {
  name?: string;
  ref_attr_name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProtoObject;
  g?: GraphProtoObject;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: TensorProtoObject[];
  graphs?: GraphProtoObject[];
}

export interface NodeProtoObject {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeObject[];
}

export interface GraphProtoObject {
  node?: NodeProtoObject[];
  name?: string;
  initializer?: TensorProtoObject[];
  input?: ValueInfoObject[];
  output?: ValueInfoObject[];
  value_info?: ValueInfoObject[];
}

export interface ModelProtoObject {
  ir_version?: number;
  opset_import?: { domain?: string; version?: number }[];
  producer_name?: string;
  producer_version?: string;
  graph?: GraphProtoObject;
}

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5,
  FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12,
  TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

let root: protobuf.Root | undefined;

/** The ONNX schema, parsed once (field names kept in snake_case as in onnx.proto). */
export function onnxRoot(): protobuf.Root {
  root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return root;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: false, arrays: false };

/**
 * Decodes an ONNX model file. Malformed or truncated bytes give a KilnError (protobufjs checks
 * every length against the buffer and bounds nesting depth, so no input makes it loop or crash).
 */
export function decodeModel(bytes: Uint8Array, what = 'model'): ModelProtoObject {
  const type = onnxRoot().lookupType('onnx.ModelProto');
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new KilnError(`${what} is not a valid ONNX file (the protobuf decoder stopped: ${(e as Error).message}); is it truncated or not an .onnx model?`);
  }
  return type.toObject(message, TO_OBJECT) as ModelProtoObject;
}

/** Decodes one serialized TensorProto (the .pb files of ONNX's test data sets). */
export function decodeTensor(bytes: Uint8Array, what = 'tensor'): TensorProtoObject {
  return decodeMessage('TensorProto', bytes, what) as TensorProtoObject;
}

function decodeMessage(name: string, bytes: Uint8Array, what: string): unknown {
  const type = onnxRoot().lookupType(`onnx.${name}`);
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new KilnError(`${what} is not a valid ONNX ${name} (${(e as Error).message})`);
  }
  return type.toObject(message, TO_OBJECT);
}

interface SequenceProtoObject { elem_type?: number; tensor_values?: TensorProtoObject[]; sequence_values?: unknown[]; optional_values?: unknown[] }
interface OptionalProtoObject { elem_type?: number; tensor_value?: TensorProtoObject; sequence_value?: SequenceProtoObject; optional_value?: unknown }

/** A test data set's value: a tensor, a sequence of tensors, or an optional's absence (null). */
export type TestValueProto = TensorProtoObject | TensorProtoObject[] | null;

/**
 * Decodes one serialized value of the ONNX type `type` (the .pb files of ONNX's test data sets):
 * a TensorProto, a SequenceProto of tensors, or an OptionalProto of either.
 */
export function decodeValue(bytes: Uint8Array, type: TypeProtoObject | undefined, what = 'value'): TestValueProto {
  if (type?.sequence_type) return sequenceTensors(decodeMessage('SequenceProto', bytes, what) as SequenceProtoObject, what);
  if (!type?.optional_type) return decodeTensor(bytes, what);
  const o = decodeMessage('OptionalProto', bytes, what) as OptionalProtoObject;
  if (o.optional_value) throw new KilnError(`${what} is an optional of an optional, which ONNX does not allow`);
  if (o.sequence_value) return sequenceTensors(o.sequence_value, what);
  return o.tensor_value ?? null;
}

function sequenceTensors(s: SequenceProtoObject, what: string): TensorProtoObject[] {
  if (s.sequence_values?.length || s.optional_values?.length) throw new KilnError(`${what} is a sequence of sequences or optionals; kiln's sequences hold tensors`);
  return s.tensor_values ?? [];
}
