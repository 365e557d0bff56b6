import { describe, expect, it } from 'vitest';
import { HostCopies } from '../../src/runtime/host-copies.js';

describe('HostCopies', () => {
  it("copies a view's bytes (at its offset) into a buffer of its own", () => {
    const pool = new HostCopies();
    const src = Float32Array.from([1, 2, 3, 4, 5]);
    const view = src.subarray(1, 4);
    const c = pool.copy(view);
    expect(c.buffer).not.toBe(src.buffer);
    expect(Array.from(new Float32Array(c.buffer, c.byteOffset, 3))).toEqual([2, 3, 4]);
    src.fill(0); // the caller refills its array: the copy keeps what it was given
    expect(Array.from(new Float32Array(c.buffer, c.byteOffset, 3))).toEqual([2, 3, 4]);
  });

  it('reuses a released copy of the same length, never one still held', () => {
    const pool = new HostCopies();
    const a = pool.copy(new Uint8Array([1, 2, 3, 4]));
    const b = pool.copy(new Uint8Array([5, 6, 7, 8]));
    expect(b).not.toBe(a);
    expect(Array.from(a)).toEqual([1, 2, 3, 4]);
    pool.release([a]);
    const c = pool.copy(new Uint8Array([9, 9, 9, 9]));
    expect(c).toBe(a);
    expect(Array.from(c)).toEqual([9, 9, 9, 9]);
    expect(Array.from(b)).toEqual([5, 6, 7, 8]);
    // Another length gets a buffer of its own.
    expect(pool.copy(new Uint8Array(8)).byteLength).toBe(8);
  });

  it('keeps a few free copies of a length, and none after clear', () => {
    const pool = new HostCopies();
    const held = Array.from({ length: 6 }, () => pool.copy(new Uint8Array(16)));
    pool.release(held);
    const again = new Set(Array.from({ length: 6 }, () => pool.copy(new Uint8Array(16))));
    expect(held.filter((c) => again.has(c))).toHaveLength(4);
    pool.release(again);
    pool.clear();
    expect(held.includes(pool.copy(new Uint8Array(16)))).toBe(false);
  });
});
