// ONNX shape arithmetic over sizes that vary: the importer follows it into op parameters.
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedOnnxError } from '../../../src/frontend/onnx/index.js';
import { compile } from '../../../src/compiler.js';
import { tensorData } from '../../../src/ir/tensor-data.js';
import { Session } from '../../../src/runtime/session.js';
import { useGpu } from '../../helpers/gpu.js';
import { buildModel, node, OnnxType } from './onnx-builder.js';

const F = OnnxType.FLOAT;

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
