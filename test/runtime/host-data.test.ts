import { describe, expect, it } from 'vitest';
import { fromDeviceBytes, hostDataProblem, toDeviceBytes } from '../../src/runtime/host-data.js';
import { tensorData } from '../../src/ir/tensor-data.js';

const bytesOf = (v: ArrayBufferView): number[] => Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

describe('toDeviceBytes', () => {
  it('hands over f32, i32 and u32 data without copying', () => {
    const t = tensorData('f32', [3], [1, 2, 3]);
    const out = toDeviceBytes(t);
    expect(out.buffer).toBe(t.data.buffer);
    expect(out.byteLength).toBe(12);
  });

  it('widens bool to one u32 per element', () => {
    const out = toDeviceBytes(tensorData('bool', [3], [1, 0, 7]));
    expect(out.byteLength).toBe(12);
    expect(Array.from(new Uint32Array(out.buffer, out.byteOffset, 3))).toEqual([1, 0, 1]);
  });

  it('pads an odd number of f16 values to 4 bytes', () => {
    const out = toDeviceBytes(tensorData('f16', [3], new Uint16Array([0x3c00, 0x4000, 0x4200])));
    expect(bytesOf(out)).toEqual([0x00, 0x3c, 0x00, 0x40, 0x00, 0x42, 0, 0]);
  });

  it('copies data that lives in a SharedArrayBuffer (dawn.node crashes on it)', () => {
    const shared = new Float32Array(new SharedArrayBuffer(8));
    shared.set([5, 6]);
    const out = toDeviceBytes({ dtype: 'f32', shape: [2], data: shared });
    expect(out.buffer).not.toBe(shared.buffer);
    expect(Array.from(new Float32Array(out.buffer, out.byteOffset, 2))).toEqual([5, 6]);
  });

  it('respects a view that starts inside its buffer', () => {
    const whole = new Int32Array([9, -1, -2, 9]);
    const out = toDeviceBytes({ dtype: 'i32', shape: [2], data: whole.subarray(1, 3) });
    expect(Array.from(new Int32Array(out.buffer.slice(out.byteOffset, out.byteOffset + 8)))).toEqual([-1, -2]);
  });
});

describe('fromDeviceBytes', () => {
  it('narrows u32 to bool bytes, any non-zero word being true', () => {
    const t = fromDeviceBytes('bool', [4], new Uint8Array(new Uint32Array([0, 1, 2, 0xffffffff]).buffer));
    expect(t.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(t.data)).toEqual([0, 1, 1, 1]);
  });

  it('copies out of the source, which is unmapped afterwards', () => {
    const src = new Uint8Array(new Int32Array([-7, 8]).buffer);
    const t = fromDeviceBytes('i32', [2], src);
    src.fill(0);
    expect(Array.from(t.data)).toEqual([-7, 8]);
  });

  it('reads f16 bits from a padded slot at an offset', () => {
    const staging = new Uint8Array(16);
    new Uint16Array(staging.buffer, 8, 3).set([0x3c00, 0xc000, 0x7c00]);
    const t = fromDeviceBytes('f16', [3], staging.subarray(8));
    expect(Array.from(t.data)).toEqual([0x3c00, 0xc000, 0x7c00]);
    expect(t.shape).toEqual([3]);
  });

  it('round-trips a scalar', () => {
    const t = tensorData('u32', [], [42]);
    expect(Array.from(fromDeviceBytes('u32', [], new Uint8Array(bytesOf(toDeviceBytes(t)))).data)).toEqual([42]);
  });
});

describe('hostDataProblem', () => {
  it('says what is wrong with the host array', () => {
    expect(hostDataProblem(tensorData('f32', [2], [1, 2]))).toBeUndefined();
    expect(hostDataProblem({ dtype: 'bool', shape: [2], data: new Uint32Array(2) })).toBe('bool data must be a Uint8Array, got Uint32Array');
    expect(hostDataProblem({ dtype: 'i32', shape: [2, 2], data: new Int32Array(3) })).toBe('shape [2,2] has 4 elements but the data has 3');
  });
});
