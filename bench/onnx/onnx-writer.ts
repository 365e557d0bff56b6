import protobuf from 'protobufjs';
import type { DType, Shape } from '../../src/ir/types.js';
import { onnxRoot } from '../../src/frontend/onnx/proto.js';

/** An attribute value: a number is an int when integral and `kind` says so; lists likewise. */
export type OnnxAttr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] };

/** Host data of an initializer: kiln's dtypes plus int64 (shapes, split sizes) and 8-bit integers (quantized weights). */
export type OnnxTensorValue =
  | { readonly dtype: DType; readonly shape: Shape; readonly data: ArrayBufferView }
  | { readonly dtype: 'i64'; readonly shape: Shape; readonly data: BigInt64Array }
  | { readonly dtype: 'u8'; readonly shape: Shape; readonly data: Uint8Array }
  | { readonly dtype: 'i8'; readonly shape: Shape; readonly data: Int8Array };

// TensorProto.DataType numbers of the official schema.
const ELEM_TYPE: Record<DType | 'i64' | 'u8' | 'i8', number> = { f32: 1, u32: 12, i32: 6, i64: 7, bool: 9, f16: 10, string: 8, u8: 2, i8: 3 };
// AttributeProto.AttributeType numbers.
const ATTR_TYPE = { FLOAT: 1, INT: 2, FLOATS: 6, INTS: 7 } as const;

/** Version of the IR and default-domain opset written (opset 17 has LayerNormalization). */
const IR_VERSION = 8;
const OPSET = 17;

/** The ONNX schema kiln's importer reads with, so the bench writes exactly what it reads. */
function schema(): protobuf.Root {
  return onnxRoot();
}

/** Builds a small ONNX model one node at a time and serializes it (the bench's test fixtures). */
export class OnnxModelBuilder {
  private readonly inputs: object[] = [];
  private readonly outputs: object[] = [];
  private readonly initializers: object[] = [];
  private readonly nodes: object[] = [];
  private readonly used = new Set<string>();
  /** Domains besides the default one that nodes use (com.microsoft's MatMulNBits), each at version 1. */
  private readonly domains = new Set<string>();
  private counter = 0;

  constructor(private readonly name: string) {}

  /** A tensor name not used yet, starting with `prefix`. */
  fresh(prefix: string): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`; while (this.used.has(n));
    this.used.add(n);
    return n;
  }

  /** Reserves a name chosen by the caller (graph inputs, outputs, values). */
  claim(name: string): string {
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Shape): void {
    this.inputs.push(valueInfo(this.claim(name), dtype, shape));
  }

  output(name: string, dtype: DType, shape: Shape): void {
    this.outputs.push(valueInfo(name, dtype, shape));
  }

  /** Adds a constant tensor and returns its name. */
  initializer(name: string, value: OnnxTensorValue): string {
    const data = value.data;
    this.initializers.push({
      name: this.claim(name),
      dims: [...value.shape],
      data_type: ELEM_TYPE[value.dtype],
      // ONNX raw_data is little-endian, as typed arrays are on every platform Node runs on.
      raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
    });
    return name;
  }

  /** An int64 vector initializer (Reshape shapes, Split sizes). */
  int64s(values: readonly number[]): string {
    return this.initializer(this.fresh('const_i64'), { dtype: 'i64', shape: [values.length], data: BigInt64Array.from(values, BigInt) });
  }

  /** A float32 scalar initializer. */
  scalar(value: number): string {
    return this.initializer(this.fresh('const_f32'), { dtype: 'f32', shape: [], data: Float32Array.of(value) });
  }

  /** Appends a node (of `domain`, default ONNX's); returns its output names. */
  node(opType: string, inputs: readonly string[], outputs: readonly string[] | number = 1, attrs: Record<string, OnnxAttr> = {}, domain = ''): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs.map((o) => this.claim(o));
    if (domain) this.domains.add(domain);
    this.nodes.push({
      ...(domain ? { domain } : {}),
      op_type: opType,
      name: this.fresh(`node_${opType}`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
    });
    return outs;
  }

  /** The serialized ModelProto. */
  encode(): Uint8Array {
    const type = schema().lookupType('onnx.ModelProto');
    const model = {
      ir_version: IR_VERSION,
      producer_name: 'kiln-bench',
      opset_import: [{ domain: '', version: OPSET }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      graph: { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
    const problem = type.verify(model);
    if (problem) throw new Error(`bench ONNX writer built an invalid model: ${problem}`);
    return type.encode(type.fromObject(model)).finish();
  }
}

function valueInfo(name: string, dtype: DType, shape: Shape): object {
  return { name, type: { tensor_type: { elem_type: ELEM_TYPE[dtype], shape: { dim: shape.map((d) => ({ dim_value: d })) } } } };
}

function attribute(name: string, a: OnnxAttr): object {
  if ('int' in a) return { name, type: ATTR_TYPE.INT, i: a.int };
  if ('float' in a) return { name, type: ATTR_TYPE.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: ATTR_TYPE.INTS, ints: [...a.ints] };
  return { name, type: ATTR_TYPE.FLOATS, floats: [...a.floats] };
}
