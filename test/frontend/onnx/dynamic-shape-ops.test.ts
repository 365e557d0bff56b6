// ONNX shape arithmetic over sizes that vary: the importer follows it into op parameters.
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { compile } from '../../../src/compiler.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';
import * as ort from 'onnxruntime-node';
import { attr, buildModel, node, OnnxType } from './onnx-builder.js';

const F = OnnxType.FLOAT;
const i64 = (name: string, values: number[]) =>
  ({ name, data_type: OnnxType.INT64, dims: [values.length], raw_data: new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer) });

/** One program's output `out` for an input `x` of `shape` equals ONNX Runtime's (within 1e-5). */
async function expectOrtAt(session: Session, ortSession: ort.InferenceSession, shape: number[]): Promise<void> {
  const x = Float32Array.from({ length: shape.reduce((a, d) => a * d, 1) }, (_, i) => Math.sin(i * 0.37));
  const got = await session.run({ x: tensorData('f32', shape, x) });
  const want = (await ortSession.run({ x: new ort.Tensor('float32', x, shape) })).out!;
  expect(got.out!.shape).toEqual(want.dims);
  const a = got.out!.data as Float32Array;
  (want.data as Float32Array).forEach((v, i) => expect(Math.abs(a[i]! - v)).toBeLessThan(1e-5));
}

describe('Expand to a shape computed from sizes that vary', () => {
  const gpu = useGpu();

  it('keeps an extent the input already has (Expand(y, Shape(x))): one program, the broadcast sum at every batch', async () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: ['batch', 4], type: F }, { name: 'y', dims: ['batch', 1], type: F }], outputs: [{ name: 'out' }],
      nodes: [node('Shape', ['x'], ['s']), node('Expand', ['y', 's'], ['e']), node('Add', ['x', 'e'], ['out'])],
    });
    const graph = importOnnx(bytes, { inputShapes: { x: ['N<=16', 4], y: ['N<=16', 1] } });
    expect(graph.nodes.find((n) => n.op === 'expand')?.attrs['shape']).toEqual([1, 4]);
    const session = await Session.create(gpu(), compile(graph));
    try {
      for (const n of [3, 16, 1]) {
        const x = Array.from({ length: 4 * n }, (_, i) => i * 0.5);
        const y = Array.from({ length: n }, (_, i) => 100 * (i + 1));
        const got = await session.run({ x: tensorData('f32', [n, 4], x), y: tensorData('f32', [n, 1], y) });
        expect(got.out!.shape).toEqual([n, 4]);
        expect(Array.from(got.out!.data as Float32Array)).toEqual(x.map((v, i) => v + y[Math.floor(i / 4)]!));
      }
    } finally {
      session.destroy();
    }
  });

  it('refuses to broadcast a 1 to an extent that varies, naming the node', () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: ['batch', 4], type: F }, { name: 'y', dims: [1, 4], type: F }], outputs: [{ name: 'out' }],
      nodes: [node('Shape', ['x'], ['s']), node('Expand', ['y', 's'], ['out'], {}, 'grow')],
    });
    expect(() => importOnnx(bytes, { inputShapes: { x: ['N<=16', 4] } })).toThrow(UnsupportedOnnxError);
    expect(() => importOnnx(bytes, { inputShapes: { x: ['N<=16', 4] } })).toThrow(/node 'grow' \(Expand\): expanding \[1,4\] to \[N,4\] broadcasts to an extent that varies \(N\)/);
  });
});

describe('Resize to sizes computed from sizes that vary', () => {
  const gpu = useGpu();

  it('doubles the image whatever its size (sizes = Shape * 2): ONNX Runtime\'s answers at several sizes from one program', async () => {
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: [1, 2, 'h', 'w'], type: F }], outputs: [{ name: 'out' }],
      initializers: [i64('lead', [1, 2]), i64('two', [2]), i64('from', [2]), i64('to', [4])],
      nodes: [
        node('Shape', ['x'], ['s']), node('Slice', ['s', 'from', 'to'], ['hw']), node('Mul', ['hw', 'two'], ['hw2']),
        node('Concat', ['lead', 'hw2'], ['sizes'], { axis: attr.i(0) }),
        node('Resize', ['x', '', '', 'sizes'], ['out'], { mode: attr.s('linear'), coordinate_transformation_mode: attr.s('half_pixel') }),
      ],
    });
    const graph = importOnnx(bytes, { inputShapes: { x: [1, 2, '2<=H<=24', '2<=W<=24'] } });
    expect(graph.nodes.find((n) => n.op === 'resize')?.attrs['scales']).toEqual([1, 1, 2, 2]);
    const ortSession = await ort.InferenceSession.create(bytes);
    const session = await Session.create(gpu(), compile(graph));
    try {
      for (const [h, w] of [[5, 7], [24, 24], [2, 13]] as const) await expectOrtAt(session, ortSession, [1, 2, h, w]);
    } finally {
      session.destroy();
      await ortSession.release();
    }
  });
});

describe('1-D convolution over a batch that varies', () => {
  const gpu = useGpu();

  it('computes it as a 2-D one of a unit height, the batch kept varying: ONNX Runtime\'s answers at several batches', async () => {
    const w = Array.from({ length: 4 * 2 * 3 }, (_, i) => Math.cos(i * 0.7));
    const bytes = buildModel({
      opset: 13, inputs: [{ name: 'x', dims: ['batch', 2, 9], type: F }], outputs: [{ name: 'out' }],
      initializers: [{ name: 'w', data_type: F, dims: [4, 2, 3], float_data: w }],
      nodes: [node('Conv', ['x', 'w'], ['out'], { pads: attr.ints([1, 1]), strides: attr.ints([2]) })],
    });
    const ortSession = await ort.InferenceSession.create(bytes);
    const session = await Session.create(gpu(), compile(importOnnx(bytes, { inputShapes: { x: ['N<=6', 2, 9] } })));
    try {
      for (const n of [1, 5, 6]) await expectOrtAt(session, ortSession, [n, 2, 9]);
    } finally {
      session.destroy();
      await ortSession.release();
    }
  });
});
