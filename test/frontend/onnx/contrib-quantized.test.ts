// ONNX Runtime's quantized contrib ops (QOperator QLinear ops, the dynamic-quantization matmuls)
// against ONNX Runtime itself, on kiln's CPU reference and on WebGPU, over uint8 and int8 inputs
// across their whole range.
import { describe, expect, it } from 'vitest';
import { compileSegmented } from '../../../src/compiler.js';
import { importOnnx } from '../../../src/frontend/onnx/index.js';
import { tensorData, type TensorData } from '../../../src/ir/tensor-data.js';
import { runOnCpu } from '../../../src/runtime/cpu/executor.js';
import { SegmentedSession } from '../../../src/runtime/segmented.js';
import { useGpu } from '../../helpers/gpu.js';
import { attr, contribModel, msNode, tensor, type AttrInit } from './onnx-builder.js';
import { runOrt } from './ort-oracle.js';

const U8 = 2;
const I8 = 3;

/** Deterministic integers over a type's whole range. */
function ints(count: number, seed: number, type: number): number[] {
  const [lo, span] = type === U8 ? [0, 256] : [-128, 256];
  return Array.from({ length: count }, (_, i) => lo + ((i * 97 + seed * 31 + ((i * i * 7) % 53)) % span));
}

interface Case {
  readonly op: string;
  readonly inputs: readonly string[];
  /** Graph inputs (quantized data, fed) by name: dims and ONNX type. */
  readonly fed: Record<string, { dims: number[]; type: number }>;
  readonly inits: object[];
  readonly outType: number;
  readonly attrs?: Record<string, AttrInit>;
  /** The op that keeps a constant 8-bit weight in its bits on the device, where the import must make one. */
  readonly stored?: string;
}

const scale = (name: string, v: number): object => tensor(name, 1, [], [v]);

/** An int4 (or, `type` 21, uint4) TensorProto: two values a byte, the first in the low nibble. */
function int4(name: string, dims: number[], values: number[], type = 22): object {
  const raw = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((v, i) => { raw[i >> 1]! |= (v & 15) << ((i & 1) * 4); });
  return { name, data_type: type, dims, raw_data: raw };
}
const zp = (name: string, type: number, v: number): object => tensor(name, type, [], [v]);

const CASES: Record<string, Case> = {
  'QLinearAdd (uint8, broadcast)': {
    op: 'QLinearAdd', inputs: ['a', 'as', 'az', 'b', 'bs', 'bz', 'cs', 'cz'], outType: U8,
    fed: { a: { dims: [2, 3, 8], type: U8 }, b: { dims: [8], type: U8 } },
    inits: [scale('as', 0.031), zp('az', U8, 121), scale('bs', 0.017), zp('bz', U8, 3), scale('cs', 0.05), zp('cz', U8, 100)],
  },
  'QLinearMul (int8)': {
    op: 'QLinearMul', inputs: ['a', 'as', 'az', 'b', 'bs', 'bz', 'cs', 'cz'], outType: I8,
    fed: { a: { dims: [4, 6], type: I8 }, b: { dims: [4, 6], type: I8 } },
    inits: [scale('as', 0.02), zp('az', I8, -3), scale('bs', 0.011), zp('bz', I8, 5), scale('cs', 0.004), zp('cz', I8, 1)],
  },
  'QLinearSigmoid (uint8)': {
    op: 'QLinearSigmoid', inputs: ['x', 'xs', 'xz', 'ys', 'yz'], outType: U8,
    fed: { x: { dims: [4, 64], type: U8 } }, inits: [scale('xs', 0.06), zp('xz', U8, 128), scale('ys', 1 / 256), zp('yz', U8, 0)],
  },
  'QLinearLeakyRelu (int8, alpha 0.2)': {
    op: 'QLinearLeakyRelu', inputs: ['x', 'xs', 'xz', 'ys', 'yz'], outType: I8, attrs: { alpha: attr.f(0.2) },
    fed: { x: { dims: [4, 64], type: I8 } }, inits: [scale('xs', 0.05), zp('xz', I8, 0), scale('ys', 0.04), zp('yz', I8, -20)],
  },
  'QLinearGlobalAveragePool (uint8, NCHW)': {
    op: 'QLinearGlobalAveragePool', inputs: ['x', 'xs', 'xz', 'ys', 'yz'], outType: U8,
    fed: { x: { dims: [2, 3, 5, 5], type: U8 } }, inits: [scale('xs', 0.1), zp('xz', U8, 10), scale('ys', 0.07), zp('yz', U8, 5)],
  },
  'QLinearGlobalAveragePool (uint8, NHWC)': {
    op: 'QLinearGlobalAveragePool', inputs: ['x', 'xs', 'xz', 'ys', 'yz'], outType: U8, attrs: { channels_last: attr.i(1) },
    fed: { x: { dims: [2, 5, 5, 3], type: U8 } }, inits: [scale('xs', 0.1), zp('xz', U8, 10), scale('ys', 0.07), zp('yz', U8, 5)],
  },
  'QLinearAveragePool (uint8, 3x3 stride 2, padded)': {
    op: 'QLinearAveragePool', inputs: ['x', 'xs', 'xz', 'ys', 'yz'], outType: U8,
    attrs: { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) },
    fed: { x: { dims: [1, 2, 7, 7], type: U8 } }, inits: [scale('xs', 0.1), zp('xz', U8, 10), scale('ys', 0.09), zp('yz', U8, 12)],
  },
  'QLinearConcat (uint8, axis 1)': {
    op: 'QLinearConcat', inputs: ['ys', 'yz', 'a', 'as', 'az', 'b', 'bs', 'bz'], outType: U8, attrs: { axis: attr.i(1) },
    fed: { a: { dims: [2, 3, 4], type: U8 }, b: { dims: [2, 2, 4], type: U8 } },
    inits: [scale('ys', 0.05), zp('yz', U8, 128), scale('as', 0.03), zp('az', U8, 100), scale('bs', 0.08), zp('bz', U8, 140)],
  },
  'QLinearSoftmax (uint8, opset 13)': {
    op: 'QLinearSoftmax', inputs: ['x', 'xs', 'xz', 'ys', 'yz'], outType: U8, attrs: { axis: attr.i(-1), opset: attr.i(13) },
    fed: { x: { dims: [3, 16], type: U8 } }, inits: [scale('xs', 0.05), zp('xz', U8, 128), scale('ys', 1 / 256), zp('yz', U8, 0)],
  },
  'GatherBlockQuantized (uint8, 4 bits packed, zero points, negative indices)': {
    op: 'GatherBlockQuantized', inputs: ['data', 'idx', 'scales', 'zp'], outType: 1, attrs: { block_size: attr.i(16), quantize_axis: attr.i(1) },
    fed: { idx: { dims: [2, 3], type: 7 } },
    inits: [tensor('data', U8, [5, 16], ints(80, 3, U8)), tensor('scales', 1, [5, 2], [0.1, 0.2, 0.05, 0.3, 0.02, 0.07, 0.11, 0.13, 0.4, 0.01]), tensor('zp', U8, [5, 1], [0x37, 0x82, 0x08, 0xf1, 0x5a])],
  },
  'GatherBlockQuantized (uint8, 8 bits, default zero point)': {
    op: 'GatherBlockQuantized', inputs: ['data', 'idx', 'scales'], outType: 1, attrs: { block_size: attr.i(16), bits: attr.i(8), quantize_axis: attr.i(1) },
    fed: { idx: { dims: [4], type: 7 } },
    inits: [tensor('data', U8, [3, 32], ints(96, 4, U8)), tensor('scales', 1, [3, 2], [0.1, 0.2, 0.05, 0.3, 0.02, 0.07])],
  },
  'GatherBlockQuantized (int4)': {
    op: 'GatherBlockQuantized', inputs: ['data', 'idx', 'scales'], outType: 1, attrs: { block_size: attr.i(16), quantize_axis: attr.i(1) },
    fed: { idx: { dims: [3], type: 7 } },
    inits: [int4('data', [4, 32], ints(128, 5, U8).map((v) => (v % 16) - 8)), tensor('scales', 1, [4, 2], [0.1, 0.2, 0.05, 0.3, 0.02, 0.07, 0.11, 0.13])],
  },
  'GatherBlockQuantized (uint4, default zero point)': {
    op: 'GatherBlockQuantized', inputs: ['data', 'idx', 'scales'], outType: 1, attrs: { block_size: attr.i(16), quantize_axis: attr.i(1) },
    fed: { idx: { dims: [3], type: 7 } },
    inits: [int4('data', [4, 32], ints(128, 7, U8).map((v) => v % 16), 21), tensor('scales', 1, [4, 2], [0.1, 0.2, 0.05, 0.3, 0.02, 0.07, 0.11, 0.13])],
  },
  'GatherBlockQuantized (int4, zero points)': {
    op: 'GatherBlockQuantized', inputs: ['data', 'idx', 'scales', 'zp'], outType: 1, attrs: { block_size: attr.i(16), quantize_axis: attr.i(1) },
    fed: { idx: { dims: [3], type: 7 } },
    inits: [int4('data', [4, 32], ints(128, 8, U8).map((v) => (v % 16) - 8)), tensor('scales', 1, [4, 2], [0.1, 0.2, 0.05, 0.3, 0.02, 0.07, 0.11, 0.13]), int4('zp', [4, 2], [-3, 2, 7, -8, 0, 1, -1, 5])],
  },
  'GatherBlockQuantized (a rank-3 table, dequantized at import)': {
    op: 'GatherBlockQuantized', inputs: ['data', 'idx', 'scales'], outType: 1, attrs: { block_size: attr.i(16), quantize_axis: attr.i(2) },
    fed: { idx: { dims: [2], type: 7 } },
    inits: [tensor('data', U8, [3, 2, 16], ints(96, 9, U8)), tensor('scales', 1, [3, 2, 2], [0.1, 0.2, 0.05, 0.3, 0.02, 0.07, 0.11, 0.13, 0.4, 0.01, 0.09, 0.06])],
  },
  'QuantizeLinear (com.microsoft: int16, per axis, in a model of opset 17, before ONNX had int16)': {
    op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outType: 5, attrs: { axis: attr.i(1) },
    fed: { x: { dims: [2, 3, 4], type: 1 } }, inits: [tensor('s', 1, [3], [0.001, 0.0003, 0.01]), tensor('z', 5, [3], [10, -300, 0])],
  },
  'DequantizeLinear (com.microsoft: uint16)': {
    op: 'DequantizeLinear', inputs: ['x', 's', 'z'], outType: 1,
    fed: { x: { dims: [3, 4], type: 4 } }, inits: [scale('s', 0.0007), zp('z', 4, 30000)],
  },
  'QGemm (uint8 A, int8 B transposed, per-column scale, int32 C, alpha, float output)': {
    op: 'QGemm', inputs: ['a', 'as', 'az', 'b', 'bs', 'bz', 'c'], outType: 1, attrs: { transB: attr.i(1), alpha: attr.f(0.5) }, stored: 'dequantize_int8',
    fed: { a: { dims: [3, 8], type: U8 } },
    inits: [scale('as', 0.02), zp('az', U8, 128), tensor('b', I8, [4, 8], ints(32, 6, I8)), tensor('bs', 1, [4], [0.01, 0.02, 0.005, 0.03]), tensor('bz', I8, [4], [0, 0, 0, 0]), tensor('c', 6, [4], [100, -2000, 30, 0])],
  },
  'QGemm (quantized output)': {
    op: 'QGemm', inputs: ['a', 'as', 'az', 'b', 'bs', 'bz', '', 'ys', 'yz'], outType: U8, stored: 'dequantize_int8',
    fed: { a: { dims: [3, 8], type: U8 } },
    inits: [scale('as', 0.02), zp('az', U8, 100), tensor('b', I8, [8, 5], ints(40, 8, I8)), scale('bs', 0.01), zp('bz', I8, 0), scale('ys', 0.5), zp('yz', U8, 128)],
  },
  'DynamicQuantizeMatMul (int8 B, per-column scale, bias)': {
    op: 'DynamicQuantizeMatMul', inputs: ['a', 'b', 'bs', 'bz', 'bias'], outType: 1, stored: 'dequantize_int8',
    fed: { a: { dims: [3, 8], type: 1 } },
    inits: [tensor('b', I8, [8, 5], ints(40, 7, I8)), tensor('bs', 1, [5], [0.01, 0.02, 0.005, 0.03, 0.012]), tensor('bz', I8, [5], [0, 0, 0, 0, 0]), tensor('bias', 1, [5], [0.1, -0.2, 0.3, 0, 1])],
  },
  'MatMulIntegerToFloat (uint8 A, int8 B, zero points, bias)': {
    op: 'MatMulIntegerToFloat', inputs: ['a', 'b', 'as', 'bs', 'az', 'bz', 'bias'], outType: 1, stored: 'dequantize_int8',
    fed: { a: { dims: [2, 3, 8], type: U8 } },
    inits: [tensor('b', I8, [8, 4], ints(32, 9, I8)), scale('as', 0.02), tensor('bs', 1, [4], [0.01, 0.02, 0.005, 0.03]), zp('az', U8, 128), tensor('bz', I8, [4], [0, 0, 0, 0]), tensor('bias', 1, [4], [0.5, -1, 0, 2])],
  },
};

function build(c: Case): Uint8Array {
  return contribModel({
    inputs: Object.entries(c.fed).map(([name, f]) => ({ name, dims: f.dims, type: f.type })),
    outputs: [{ name: 'y', type: c.outType }],
    nodes: [msNode(c.op, [...c.inputs], ['y'], c.attrs)],
    initializers: c.inits,
  });
}

function feeds(c: Case): Record<string, TensorData> {
  return Object.fromEntries(Object.entries(c.fed).map(([name, f], k) => {
    const count = f.dims.reduce((a, d) => a * d, 1);
    const values = f.type === 1 ? Array.from({ length: count }, (_, i) => Math.sin(i * 1.7 + k) * 3)
      : f.type === 7 ? Array.from({ length: count }, (_, i) => ((i * 5 + k) % 6) - 3)
        : f.type === 4 ? Array.from({ length: count }, (_, i) => (i * 7919 + k * 104729) % 65536) : ints(count, k + 1, f.type);
    return [name, tensorData(f.type === 1 ? 'f32' : 'i32', f.dims, values)];
  }));
}

/** Largest |kiln - ORT|: quantized outputs must match exactly, float ones within 1e-5 relative. */
function expectOrtValues(got: TensorData, want: { dims: number[]; values: number[] }, outType: number, what: string): void {
  expect([...got.shape], what).toEqual(want.dims);
  const g = Array.from(got.data as ArrayLike<number>);
  const tol = outType === 1 ? 1e-5 : 0;
  g.forEach((x, i) => {
    const y = want.values[i]!;
    if (Math.abs(x - y) > tol * (1 + Math.abs(y))) expect.fail(`${what}: y[${i}] kiln ${x}, ONNX Runtime ${y}`);
  });
}

describe('com.microsoft quantized ops against ONNX Runtime', () => {
  const gpu = useGpu();
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const bytes = build(c);
      const inputs = feeds(c);
      const [want] = await runOrt(bytes, inputs, Object.fromEntries(Object.entries(c.fed).map(([k, f]) => [k, f.type])));
      const graph = importOnnx(bytes);
      if (c.stored) expect(graph.nodes.map((n) => n.op)).toContain(c.stored);
      expectOrtValues(runOnCpu(graph, inputs)[graph.outputs[0]!.name]!, want!, c.outType, 'CPU reference');
      const session = await SegmentedSession.create(gpu(), compileSegmented(importOnnx(bytes)));
      try {
        const got = await session.run(inputs);
        expectOrtValues(got[session.program.outputs[0]!]!, want!, c.outType, 'WebGPU');
      } finally {
        session.destroy();
      }
    });
  }
});
