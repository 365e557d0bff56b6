import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/io/npy.js';
import { stringsOf, stringTensor } from '../../src/ir/tensor-data.js';

// NumPy's string arrays: fixed-width UTF-32 ('<U{w}'), the elements padded with zeros. Files
// written by NumPy 2.4 (np.save), base64.
const NUMPY = {
  // np.array([['ab', 'ü€😀'], ['', 'x']]): '<U3'
  unicode: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPFUzJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAphAAAAYgAAAAAAAAD8AAAArCAAAAD2AQAAAAAAAAAAAAAAAAB4AAAAAAAAAAAAAAA=',
  // np.array(['a', None], dtype=object): a pickle
  object: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfE8nLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqABJWPAAAAAAAAAIwWbnVtcHkuX2NvcmUubXVsdGlhcnJheZSMDF9yZWNvbnN0cnVjdJSTlIwFbnVtcHmUjAduZGFycmF5lJOUSwCFlEMBYpSHlFKUKEsBSwKFlGgDjAVkdHlwZZSTlIwCTziUiYiHlFKUKEsDjAF8lE5OTkr/////Sv////9LP3SUYoldlCiMAWGUTmV0lGIu',
};
const bytesOf = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

describe('.npy string arrays', () => {
  it("reads NumPy's '<U' arrays as string tensors (code points beyond the BMP, empty strings)", () => {
    const t = readNpy(bytesOf(NUMPY.unicode), 'u.npy');
    expect(t.dtype).toBe('string');
    expect(t.shape).toEqual([2, 2]);
    expect(stringsOf(t)).toEqual(['ab', 'ü€😀', '', 'x']);
  });
  it('writes the same bytes NumPy writes, the width being the longest element in code points', () => {
    expect(writeNpy(stringTensor([2, 2], ['ab', 'ü€😀', '', 'x']))).toEqual(bytesOf(NUMPY.unicode));
  });
  it('round-trips scalars and empty tensors', () => {
    for (const t of [stringTensor([], ['only']), stringTensor([0, 3], []), stringTensor([3], ['', '', ''])]) {
      const back = readNpy(writeNpy(t), 'rt.npy');
      expect({ dtype: back.dtype, shape: back.shape, values: stringsOf(back) }).toEqual({ dtype: 'string', shape: t.shape, values: stringsOf(t) });
    }
  });
  it('refuses object arrays, saying how to save strings', () => {
    expect(() => readNpy(bytesOf(NUMPY.object), 'o.npy')).toThrow(/dtype 'O' \(Python objects\) is not supported.*a\.astype\(str\)/);
  });
});
