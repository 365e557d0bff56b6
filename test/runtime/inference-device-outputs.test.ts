import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/runtime/index.js';
import { attr, buildModel, node } from '../frontend/onnx/onnx-builder.js';
import { useGpu } from '../helpers/gpu.js';
import { seeded } from '../helpers/seeded.js';

// ONNX Runtime's preferredOutputLocation 'gpu-buffer': a decoder-like model's cache comes back as
// a Tensor on the device and is fed to the next run as it is, never read back, while the cache
// grows a row a run. Every answer is ONNX Runtime's, its cache fed through the host.

/** present = concat(past, x) along the rows; y = tanh(present) * 2. */
const MODEL = buildModel({
  inputs: [{ name: 'past', dims: [1, 2, 'T', 4] }, { name: 'x', dims: [1, 2, 1, 4] }],
  outputs: [{ name: 'present' }, { name: 'y' }],
  nodes: [node('Concat', ['past', 'x'], ['present'], { axis: attr.i(2) }), node('Tanh', ['present'], ['t']), node('Add', ['t', 't'], ['y'])],
});

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i]! - b[i]!));
  return w;
}

describe("InferenceSession outputs kept on the device (ORT's preferredOutputLocation)", () => {
  const gpu = useGpu();

  it('feeds a cache kept on the device back run after run, as it grows, with ONNX Runtime\'s answers', async () => {
    const session = await InferenceSession.create(MODEL, { device: gpu(), compileCache: false, preferredOutputLocation: { present: 'gpu-buffer' } });
    const reference = await ort.InferenceSession.create(MODEL);
    try {
      let past = new Tensor('float32', seeded(8, 1), [1, 2, 1, 4]);
      let refPast = new ort.Tensor('float32', past.data as Float32Array, [1, 2, 1, 4]);
      for (let step = 0; step < 6; step++) {
        const x = seeded(8, 10 + step);
        const got = await session.run({ past, x: new Tensor('float32', x, [1, 2, 1, 4]) });
        const want = await reference.run({ past: refPast, x: new ort.Tensor('float32', x, [1, 2, 1, 4]) });
        expect([got['present']!.location, got['y']!.location]).toEqual(['gpu-buffer', 'cpu']);
        expect(got['present']!.dims).toEqual(want['present']!.dims);
        expect(worst(got['y']!.data as Float32Array, want['y']!.data as Float32Array), `step ${step}`).toBeLessThan(1e-6);
        if (past.location === 'gpu-buffer') past.dispose();
        past = got['present']!;
        refPast = want['present'] as ort.TypedTensor<'float32'>;
      }
      // Its data is on the device: read through getData(), or its gpuBuffer.
      expect(() => past.data).toThrow(/on the device.*getData\(\)/);
      expect(past.gpuBuffer.size).toBeGreaterThanOrEqual(2 * 7 * 4 * 4);
      expect(worst(await past.getData() as Float32Array, refPast.data as Float32Array)).toBe(0);
      // getData(true) brings it to the host and frees the device buffer, as ORT's does.
      await past.getData(true);
      expect(past.location).toBe('cpu');
      expect(worst(past.data as Float32Array, refPast.data as Float32Array)).toBe(0);
      expect(() => past.gpuBuffer).toThrow(/on the host/);
    } finally {
      await session.release();
      await reference.release();
    }
  });

  it('refuses a disposed Tensor, places it does not keep, and outputs the model lacks, naming them', async () => {
    await expect(InferenceSession.create(MODEL, { device: gpu(), compileCache: false, preferredOutputLocation: 'texture' as 'cpu' }))
      .rejects.toThrow(/preferredOutputLocation: "texture" is not a place kiln keeps outputs/);
    const wrong = await InferenceSession.create(MODEL, { device: gpu(), compileCache: false, preferredOutputLocation: { nope: 'gpu-buffer' } });
    const session = await InferenceSession.create(MODEL, { device: gpu(), compileCache: false, preferredOutputLocation: 'gpu-buffer' });
    try {
      const x = new Tensor('float32', seeded(8, 3), [1, 2, 1, 4]);
      await expect(wrong.run({ past: x, x })).rejects.toThrow(/preferredOutputLocation names 'nope', not outputs of the model/);
      const out = await session.run({ past: x, x });
      expect([out['present']!.location, out['y']!.location]).toEqual(['gpu-buffer', 'gpu-buffer']);
      out['present']!.dispose();
      await expect(session.run({ past: out['present']!, x })).rejects.toThrow(/input 'past': its device tensor \(f32\[1,2,2,4\]\) was destroyed/);
      // Fetching one output keeps only it.
      const y = await session.run({ past: x, x }, ['y']);
      expect(Object.keys(y)).toEqual(['y']);
      expect(y['y']!.location).toBe('gpu-buffer');
      y['y']!.dispose();
      out['y']!.dispose();
    } finally {
      await session.release();
      await wrong.release();
    }
  });

  it("takes a Tensor made from the caller's GPUBuffer (ORT's Tensor.fromGpuBuffer), as the same values from the host", async () => {
    const session = await InferenceSession.create(MODEL, { device: gpu(), compileCache: false });
    const device = gpu().device;
    const values = seeded(8, 21);
    const buffer = device.createBuffer({ size: 32, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const noCopy = device.createBuffer({ size: 32, usage: GPUBufferUsage.STORAGE });
    try {
      device.queue.writeBuffer(buffer, 0, values);
      let disposed = 0;
      const past = Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: [1, 2, 1, 4], download: async () => values.slice(), dispose: () => { disposed++; } });
      expect(past.location).toBe('gpu-buffer');
      expect(past.gpuBuffer).toBe(buffer);
      const x = new Tensor('float32', seeded(8, 22), [1, 2, 1, 4]);
      const got = await session.run({ past, x });
      const want = await session.run({ past: new Tensor('float32', values, [1, 2, 1, 4]), x });
      expect(Array.from(got['present']!.data as Float32Array)).toEqual(Array.from(want['present']!.data as Float32Array));
      expect(Array.from(await past.getData() as Float32Array)).toEqual(Array.from(values));
      // dispose() hands the buffer back through the callback; kiln never destroys the caller's buffer.
      past.dispose();
      expect(disposed).toBe(1);
      await expect(session.run({ past, x })).rejects.toThrow(/input 'past': its device tensor \(f32\[1,2,1,4\]\) was destroyed/);
      expect(Array.from((await session.run({ past: Tensor.fromGpuBuffer(buffer, { dims: [1, 2, 1, 4] }), x }))['present']!.data as Float32Array))
        .toEqual(Array.from(want['present']!.data as Float32Array));
      // What cannot be taken, refused naming why.
      expect(() => Tensor.fromGpuBuffer(buffer, { dataType: 'bool', dims: [8] })).toThrow(/do not hold 'bool' data/);
      expect(() => Tensor.fromGpuBuffer(buffer, { dims: [1, 2, 2, 4] })).toThrow(/at least 64 bytes, got 32/);
      expect(() => Tensor.fromGpuBuffer(noCopy, { dims: [8] })).toThrow(/COPY_SRC/);
      await expect(Tensor.fromGpuBuffer(buffer, { dims: [8] }).getData()).rejects.toThrow(/without a download callback/);
    } finally {
      buffer.destroy();
      noCopy.destroy();
      await session.release();
    }
  });
});
