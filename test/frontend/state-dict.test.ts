import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { expectClose } from '../helpers/compare.js';

const { nn } = kiln;

function makeModel(seed: number) {
  kiln.manualSeed(seed);
  return new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1 }), new nn.BatchNorm2d(3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(3 * 4 * 4, 2)).eval();
}

/** Hand-written safetensors bytes (independent of the encoder): header JSON, then data. */
function handMade(header: object, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('stateDict', () => {
  it('names parameters and persistent buffers by path, with PyTorch\'s keys for batch norm', () => {
    const m = makeModel(1);
    expect(Object.keys(m.stateDict())).toEqual([
      '0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '4.weight', '4.bias',
    ]);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '4.weight', '4.bias']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    expect(m.stateDict()['0.weight']).toBe((m.at(0) as InstanceType<typeof nn.Conv2d>).weight);
  });

  it('round-trips through a safetensors file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-sd-'));
    try {
      const a = makeModel(1);
      // Non-default statistics, so the round trip is not of defaults.
      await a.loadStateDict({ '1.running_mean': kiln.tensor([0.5, -1, 2]), '1.running_var': kiln.tensor([2, 0.5, 1.5]) }, { strict: false });
      const path = join(dir, 'model.safetensors');
      await kiln.saveSafetensors(a.stateDict(), path, { metadata: { format: 'pt' } });

      // The file is safetensors: 8-byte little-endian header length, JSON header, data.
      const bytes = await readFile(path);
      const n = Number(bytes.readBigUInt64LE(0));
      expect((8 + n) % 8).toBe(0);
      const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
      expect(header.__metadata__).toEqual({ format: 'pt' });
      expect(header['0.weight']).toEqual({ dtype: 'F32', shape: [3, 2, 3, 3], data_offsets: expect.any(Array) });
      expect(header['1.num_batches_tracked'].dtype).toBe('I32');
      const [b0, b1] = header['1.running_mean'].data_offsets;
      expect(Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + n + b0, bytes.byteOffset + 8 + n + b1)))).toEqual([0.5, -1, 2]);

      const b = makeModel(2);
      const x = kiln.randn([2, 2, 4, 4]);
      expect(Array.from(b.call(x).data.data)).not.toEqual(Array.from(a.call(x).data.data));
      const result = await b.loadStateDict(await kiln.loadSafetensors(path));
      expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
      for (const [k, t] of Object.entries(a.stateDict())) expect([k, b.stateDict()[k]!.tolist()]).toEqual([k, t.tolist()]);
      expectClose(b.call(x).data, a.call(x).data, 0, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps f16, i32 and bool tensors and metadata through encode/decode', () => {
    const tensors = {
      h: kiln.tensor([0.1, -2, 65504]).half().data,
      i: kiln.tensor([[1, -2], [3, 2 ** 31 - 1]], { dtype: 'int32' }).data,
      m: kiln.tensor([true, false, true], { dtype: 'bool' }).data,
    };
    const { tensors: back, metadata } = kiln.decodeSafetensors(kiln.encodeSafetensors(tensors, { a: 'b' }));
    expect(metadata).toEqual({ a: 'b' });
    for (const [k, t] of Object.entries(tensors)) {
      expect(back[k]!.dtype).toBe(t.dtype);
      expect(back[k]!.shape).toEqual(t.shape);
      expect(Array.from(back[k]!.data)).toEqual(Array.from(t.data));
    }
  });

  it('reads PyTorch\'s int64 (as int32) and bfloat16 (as float32)', () => {
    const data = new Uint8Array(16 + 4);
    const v = new DataView(data.buffer);
    v.setBigInt64(0, 7n, true);
    v.setBigInt64(8, -3n, true);
    v.setUint16(16, 0x3fc0, true); // bf16 1.5
    v.setUint16(18, 0xc020, true); // bf16 -2.5
    const { tensors } = kiln.decodeSafetensors(handMade({
      n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [16, 20] },
    }, data));
    expect([tensors.n!.dtype, Array.from(tensors.n!.data)]).toEqual(['i32', [7, -3]]);
    expect([tensors.b!.dtype, Array.from(tensors.b!.data)]).toEqual(['f32', [1.5, -2.5]]);
    const big = new Uint8Array(8);
    new DataView(big.buffer).setBigInt64(0, 2n ** 40n, true);
    expect(() => kiln.decodeSafetensors(handMade({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, big))).toThrow(/holds 1099511627776 at element 0, which does not fit in int32/);
  });

  it('rejects malformed files with a reason', () => {
    const four = new Uint8Array(4);
    const t = (offs: number[], dtype = 'F32', shape = [1]) => ({ x: { dtype, shape, data_offsets: offs } });
    expect(() => kiln.decodeSafetensors(new Uint8Array(3), 'f.st')).toThrow(/f\.st: too short/);
    expect(() => kiln.decodeSafetensors(handMade(t([0, 4]), four, 10_000n))).toThrow(/header claims 10000 bytes but only/);
    expect(() => kiln.decodeSafetensors(handMade(t([0, 4], 'F64'), four))).toThrow(/dtype "F64" is not supported \(kiln reads F32, F16/);
    expect(() => kiln.decodeSafetensors(handMade(t([0, 4], 'F32', [2]), four))).toThrow(/F32\[2\] needs 8 bytes but data_offsets give 4/);
    expect(() => kiln.decodeSafetensors(handMade(t([0, 8]), four))).toThrow(/lie past the end of the 4-byte data/);
    expect(() => kiln.decodeSafetensors(handMade({ ...t([4, 8]) }, new Uint8Array(8)))).toThrow(/hole of 4 bytes before tensor 'x'/);
    const bad = handMade(t([0, 4]), four);
    bad[8] = 0x5b; // '[' instead of '{'
    expect(() => kiln.decodeSafetensors(bad)).toThrow(/not valid UTF-8 JSON|must be a JSON object/);
  });
});

describe('loadStateDict', () => {
  it('reports missing and unexpected keys (strict), naming the model', async () => {
    const m = makeModel(1);
    const sd = { ...m.stateDict(), extra: kiln.zeros([1]) } as Record<string, kiln.Tensor>;
    delete sd['4.bias'];
    await expect(m.loadStateDict(sd)).rejects.toThrow(
      'Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: "4.bias".\n\tUnexpected key(s) in state_dict: "extra".',
    );
    await expect(m.loadStateDict(sd, { strict: false })).resolves.toEqual({ missingKeys: ['4.bias'], unexpectedKeys: ['extra'] });
  });

  it('refuses a shape mismatch even when not strict, and changes nothing when it fails', async () => {
    const m = makeModel(1);
    const before = m.stateDict()['0.bias']!.tolist();
    const sd = { '0.bias': kiln.tensor([9, 9, 9]), '4.weight': kiln.zeros([3, 48]) };
    await expect(m.loadStateDict(sd, { strict: false })).rejects.toThrow(
      'size mismatch for 4.weight: copying a param with shape [3, 48] from checkpoint, the shape in current model is [2, 48].',
    );
    expect(m.stateDict()['0.bias']!.tolist()).toEqual(before);
  });

  it('converts values to each parameter\'s dtype (f32 into a half model rounds to nearest-even)', async () => {
    const m = new nn.Linear(2, 1).half();
    expect(m.weight.dtype).toBe('f16');
    await m.loadStateDict({ weight: kiln.tensor([[0.1, 1 / 3]]), bias: kiln.tensor([2049]) });
    expect(m.weight.dtype).toBe('f16');
    expect(m.weight.tolist()).toEqual([[0.0999755859375, 0.333251953125]]);
    expect(m.bias!.tolist()).toEqual([2048]); // 2049 is halfway between 2048 and 2050: even wins
  });
});

describe('safetensors files on disk', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-st-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('loadSafetensors names the file in errors', async () => {
    const path = join(dir, 'broken.safetensors');
    await writeFile(path, new Uint8Array([1, 2, 3]));
    await expect(kiln.loadSafetensors(path)).rejects.toThrow(`${path}: too short`);
  });
});
