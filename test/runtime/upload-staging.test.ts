import { describe, expect, it } from 'vitest';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import type { GpuDevice } from '../../src/runtime/device.js';
import { DeviceTensor, readDeviceBuffer } from '../../src/runtime/device-tensor.js';
import { Session } from '../../src/runtime/session.js';
import { STAGED_MIN_BYTES, UploadStaging } from '../../src/runtime/upload-staging.js';
import { useGpu } from '../helpers/gpu.js';
import { vectorAdd } from '../helpers/programs.js';

/** Sizes of the writeBuffer calls made through `queue` while `body` runs. */
async function writeSizes<T>(queue: GPUQueue, body: () => Promise<T>): Promise<{ result: T; sizes: number[] }> {
  const sizes: number[] = [];
  const original = queue.writeBuffer;
  queue.writeBuffer = function (this: GPUQueue, ...args: Parameters<GPUQueue['writeBuffer']>) {
    sizes.push(args[4] ?? (args[2] as ArrayBufferView).byteLength ?? 0);
    return original.apply(this, args);
  } as GPUQueue['writeBuffer'];
  try {
    return { result: await body(), sizes };
  } finally {
    queue.writeBuffer = original;
  }
}

/** A device tensor holding `t`, as a run's kept output would. */
function onDevice(g: GpuDevice, t: TensorData): DeviceTensor {
  const buffer = g.device.createBuffer({ size: t.data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
  new Float32Array(buffer.getMappedRange()).set(t.data as Float32Array);
  buffer.unmap();
  return new DeviceTensor(g, buffer, 'f32', t.shape);
}

const expectSum = (out: TensorData, a: (i: number) => number, b: (i: number) => number) => {
  const d = out.data as Float32Array;
  // Every element, compared at once (a per-element expect is slow at this size).
  const wrong = d.findIndex((v, i) => v !== Math.fround(a(i) + b(i)));
  expect(wrong, wrong < 0 ? '' : `element ${wrong}: ${d[wrong]} != ${a(wrong)} + ${b(wrong)}`).toBe(-1);
};

describe('uploads of large inputs through staging buffers', () => {
  const gpu = useGpu();
  const n = STAGED_MIN_BYTES / 4 + 64; // one input just over the threshold
  const small = 1000;
  const vec = (len: number, f: (i: number) => number): TensorData => ({ dtype: 'f32', shape: [len], data: Float32Array.from({ length: len }, (_, i) => f(i)) });

  it('UploadStaging: small or unaligned bytes are left to writeBuffer; a length keeps 4 buffers, reused once mapped again', async () => {
    const device = gpu().device;
    const pool = new UploadStaging(device, 'test');
    const dst = device.createBuffer({ size: STAGED_MIN_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
    let encoder: GPUCommandEncoder | undefined;
    const encode = () => (encoder ??= device.createCommandEncoder());
    try {
      expect(pool.upload(encode, dst, new Uint8Array(STAGED_MIN_BYTES - 4))).toBe(false);
      expect(pool.upload(encode, dst, new Uint8Array(STAGED_MIN_BYTES + 2))).toBe(false);
      expect(encoder).toBeUndefined();
      const bytes = (k: number) => new Float32Array(STAGED_MIN_BYTES / 4).fill(k);
      for (let k = 1; k <= 4; k++) expect(pool.upload(encode, dst, bytes(k))).toBe(true);
      expect(pool.upload(encode, dst, bytes(5))).toBe(false); // all 4 still in use
      device.queue.submit([encoder!.finish()]);
      encoder = undefined;
      await pool.remap();
      expect(pool.upload(encode, dst, bytes(6))).toBe(true);
      device.queue.submit([encoder!.finish()]);
      const read = await readDeviceBuffer(device, dst, 'f32', [STAGED_MIN_BYTES / 4], 'test:read');
      expect(new Set(read.data)).toEqual(new Set([6])); // the copies ran in order, the last one's bytes landing last
    } finally {
      pool.close();
      dst.destroy();
    }
  });

  it("a session's large inputs skip writeBuffer, runs queued at once each get their own bytes, and the caller may refill its arrays", async () => {
    const session = await Session.create(gpu(), vectorAdd(n));
    try {
      const a = new Float32Array(n);
      const b = vec(n, (i) => i % 7);
      const { result, sizes } = await writeSizes(gpu().device.queue, async () => {
        const runs: Promise<Record<string, TensorData>>[] = [];
        for (let k = 0; k < 6; k++) {
          a.fill(k);
          runs.push(session.run({ a: { dtype: 'f32', shape: [n], data: a }, b }));
        }
        a.fill(-1);
        return Promise.all(runs);
      });
      result.forEach((r, k) => expectSum(r['sum']!, () => k, (i) => i % 7));
      expect(sizes.filter((s) => s >= STAGED_MIN_BYTES)).toEqual([]);
    } finally {
      session.destroy();
    }
  });

  it('staged inputs beyond the pool fall back to writeBuffer, and every staged run is right', async () => {
    const session = await Session.create(gpu(), vectorAdd(n), { inputSlots: 3 });
    try {
      const { result, sizes } = await writeSizes(gpu().device.queue, async () => {
        // b is a view at an offset into a longer array: staged from where the view starts.
        const longer = Float32Array.from({ length: n + 3 }, (_, i) => (i - 3) % 5);
        const b: TensorData = { dtype: 'f32', shape: [n], data: longer.subarray(3) };
        const staged = [1, 2, 3].map((k) => session.stage({ a: vec(n, () => k), b }));
        return Promise.all(staged.map((s) => session.run(s)));
      });
      result.forEach((r, k) => expectSum(r['sum']!, () => k + 1, (i) => i % 5));
      // 3 stages x 2 inputs of one length: 4 staging buffers, then writeBuffer for the last 2.
      expect(sizes.filter((s) => s >= STAGED_MIN_BYTES)).toHaveLength(2);
    } finally {
      session.destroy();
    }
  });

  it('a run failing after its upload: the runs after it are right, their large inputs staged', async () => {
    const g = gpu();
    const session = await Session.create(g, vectorAdd(n));
    try {
      // Destroyed after run() checked it, before the run uploads: 'a' is staged, then 'b' fails.
      const gone = onDevice(g, vec(n, () => 1));
      const failed = session.run({ a: vec(n, () => 2), b: gone });
      gone.destroy();
      await expect(failed).rejects.toThrow(/input 'b'.*destroyed/);
      const { result, sizes } = await writeSizes(g.device.queue, async () => {
        const out = [];
        for (let k = 0; k < 3; k++) out.push(await session.run({ a: vec(n, () => k), b: onDevice(g, vec(n, (i) => i % 3)) }));
        return out;
      });
      result.forEach((r, k) => expectSum(r['sum']!, () => k, (i) => i % 3));
      expect(sizes).toEqual([]);
    } finally {
      session.destroy();
    }
  });

  it('a small input still goes through writeBuffer', async () => {
    const session = await Session.create(gpu(), vectorAdd(small));
    try {
      const { result, sizes } = await writeSizes(gpu().device.queue, () => session.run({ a: vec(small, (i) => i), b: tensorData('f32', [small], new Float32Array(small).fill(0.5)) }));
      expectSum(result['sum']!, (i) => i, () => 0.5);
      expect(sizes).toEqual([4 * small, 4 * small]);
    } finally {
      session.destroy();
    }
  });
});
