import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { toF16Array } from '../../src/ir/f16.js';

// Files written by NumPy 2.4 (np.save / np.lib.format.write_array), base64: the reader is checked
// against the real format, and the writer against NumPy's bytes.
const NUMPY = {
  // np.array([[1.5, -2, 3], [0.25, 1e-3, -7]], dtype='<f4')
  f4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAQEAAAIA+bxKDOgAA4MA=',
  // np.array([7, -3, 2**31 - 1], dtype='<i8')
  i8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoHAAAAAAAAAP3/////////////fwAAAAA=',
  // np.array([1, 2**31], dtype='<i8')
  i8TooBig: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAAAAAIAAAAAA',
  // np.array(0.1, dtype='<f8'), a scalar
  f8Scalar: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqamZmZmZm5Pw==',
  // np.array([True, False, True, True])
  b1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAEB',
  // np.array([1.0, -0.5], dtype='<f2')
  f2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPAC4',
  // write_array(np.array([[1], [4000000000]], dtype='<u4'), version=(2, 0))
  u4v2: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8dTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMSksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAChr7g==',
  // np.asfortranarray(np.ones((2, 3), dtype='<f4'))
  fortran: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AACAPwAAgD8AAIA/AACAPwAAgD8=',
  // np.array([1, 2], dtype='>f4')
  bigEndian: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/gAAAQAAAAA==',
};
const file = (k: keyof typeof NUMPY) => new Uint8Array(Buffer.from(NUMPY[k], 'base64'));

describe('.npy files', () => {
  it('reads what NumPy writes: f4, f2, u4 (format 2.0), bool', () => {
    const f4 = readNpy(file('f4'), 'f4.npy');
    expect(f4.dtype).toBe('f32');
    expect(f4.shape).toEqual([2, 3]);
    expect(Array.from(f4.data)).toEqual([1.5, -2, 3, 0.25, Math.fround(1e-3), -7]);
    const f2 = readNpy(file('f2'), 'f2.npy');
    expect(f2.dtype).toBe('f16');
    expect(Array.from(f2.data)).toEqual([0x3c00, 0xb800]); // 1.0 and -0.5 as half bits
    const u4 = readNpy(file('u4v2'), 'u4.npy');
    expect(u4).toEqual({ dtype: 'u32', shape: [2, 1], data: new Uint32Array([1, 4000000000]) });
    const b1 = readNpy(file('b1'), 'b1.npy');
    expect(b1).toEqual({ dtype: 'bool', shape: [4], data: new Uint8Array([1, 0, 1, 1]) });
  });

  it('narrows int64 to i32 with a range check and float64 to f32', () => {
    expect(readNpy(file('i8'), 'i8.npy')).toEqual({ dtype: 'i32', shape: [3], data: new Int32Array([7, -3, 2147483647]) });
    expect(() => readNpy(file('i8TooBig'), 'ids.npy')).toThrow(/ids\.npy: int64 element 1 is 2147483648, which does not fit in kiln's i32/);
    const s = readNpy(file('f8Scalar'), 's.npy');
    expect(s.dtype).toBe('f32');
    expect(s.shape).toEqual([]);
    expect(s.data[0]).toBe(Math.fround(0.1));
  });

  it('refuses Fortran order, big-endian, truncated data and non-npy files with the reason', () => {
    expect(() => readNpy(file('fortran'), 'f.npy')).toThrow(/Fortran order; save it with np\.save\(path, np\.ascontiguousarray\(a\)\)/);
    expect(() => readNpy(file('bigEndian'), 'be.npy')).toThrow(/dtype '>f4' is not supported \(big-endian/);
    const f4 = file('f4');
    expect(() => readNpy(f4.subarray(0, f4.length - 4), 't.npy')).toThrow(/needs 24 data bytes but the file has 20 \(truncated\?\)/);
    expect(() => readNpy(new TextEncoder().encode('hello world'), 'x.npy')).toThrow(/not a NumPy \.npy file/);
  });

  it('writes the same bytes NumPy writes', () => {
    const f4 = writeNpy(tensorData('f32', [2, 3], [1.5, -2, 3, 0.25, 1e-3, -7]));
    expect(Buffer.from(f4).toString('base64')).toBe(NUMPY.f4);
    expect(Buffer.from(writeNpy(tensorData('bool', [4], [1, 0, 1, 1]))).toString('base64')).toBe(NUMPY.b1);
    expect(Buffer.from(writeNpy(tensorData('f16', [2], toF16Array([1, -0.5])))).toString('base64')).toBe(NUMPY.f2);
  });

  it('round-trips every dtype, including scalars, empty and odd shapes', () => {
    const cases = [
      tensorData('f32', [3, 1, 5], Array.from({ length: 15 }, (_, i) => i / 7 - 1)),
      tensorData('i32', [], [-42]),
      tensorData('u32', [0, 4], []),
      tensorData('bool', [7], [1, 0, 0, 1, 1, 1, 0]),
      tensorData('f16', [3], toF16Array([0.1, 65504, -0])),
    ];
    for (const t of cases) {
      const bytes = writeNpy(t);
      // The header ends on a 64-byte boundary, as the format asks.
      const headerLen = bytes[8]! | (bytes[9]! << 8);
      expect((10 + headerLen) % 64).toBe(0);
      expect(readNpy(bytes, 'rt.npy')).toEqual({ dtype: t.dtype, shape: [...t.shape], data: t.data });
    }
  });

  it('NumPy reads what kiln writes (skipped without python3 and numpy)', (ctx) => {
    try {
      execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    } catch {
      ctx.skip('python3 with numpy not available');
    }
    const dir = mkdtempSync(join(tmpdir(), 'kiln-npy-'));
    writeFileSync(join(dir, 'a.npy'), writeNpy(tensorData('f32', [2, 2], [1, 2, 3, 4.5])));
    writeFileSync(join(dir, 'b.npy'), writeNpy(tensorData('bool', [3], [1, 0, 1])));
    const out = execFileSync('python3', ['-c', [
      'import numpy as np, sys',
      'a = np.load(sys.argv[1] + "/a.npy"); b = np.load(sys.argv[1] + "/b.npy")',
      'print(a.dtype, a.shape, a.sum(), b.dtype, b.tolist())',
      'np.save(sys.argv[1] + "/c.npy", np.arange(6, dtype=np.int64).reshape(2, 3) * 3)',
    ].join('\n'), dir], { encoding: 'utf8' });
    expect(out.trim()).toBe('float32 (2, 2) 10.5 bool [True, False, True]');
    expect(readNpy(readFileSync(join(dir, 'c.npy')), 'c.npy')).toEqual({ dtype: 'i32', shape: [2, 3], data: new Int32Array([0, 3, 6, 9, 12, 15]) });
  });
});
