// The layout of a model's sequence and optional inputs and outputs over its program's tensors:
// flattening structured feeds, reassembling outputs, and reading a layout from a manifest.
import { describe, expect, it } from 'vitest';
import { assembleOutputs, flattenInputs, isPlainLayout, parseIoLayout, tensorLayout, type IoLayout } from '../../src/runtime/io-layout.js';

const layout: IoLayout = {
  inputs: [
    { name: 'xs', kind: 'sequence', items: ['xs_0', 'xs_1'] },
    { name: 'maybe', kind: 'optional', items: [], holds: 'none' },
    { name: 't', kind: 'tensor', items: ['t'] },
  ],
  outputs: [
    { name: 's', kind: 'sequence', items: ['s_0', 's_1', 's_2'] },
    { name: 'o', kind: 'optional', items: ['o'], holds: 'tensor' },
    { name: 'e', kind: 'sequence', items: [] },
  ],
};

const fail = (msg: string): never => { throw new Error(msg); };

describe('IoLayout', () => {
  it('flattens a sequence into its items and an absent optional into nothing', () => {
    expect(flattenInputs(layout.inputs, { xs: ['a', 'b'], maybe: null, t: 'c' })).toEqual({ xs_0: 'a', xs_1: 'b', t: 'c' });
  });

  it('refuses feeds that differ from what was compiled', () => {
    expect(() => flattenInputs(layout.inputs, { xs: ['a'] })).toThrow(/'xs' was compiled as a sequence of 2 tensors, but 1 were given/);
    expect(() => flattenInputs(layout.inputs, { maybe: 'x' })).toThrow(/'maybe' was compiled as an absent optional/);
    expect(() => flattenInputs(layout.inputs, { t: ['a'] })).toThrow(/'t' is a tensor, but a sequence was given/);
    expect(() => flattenInputs(layout.inputs, { xs: 'a' })).toThrow(/'xs' is a sequence, but a tensor was given/);
  });

  it('reassembles outputs: sequences as arrays (empty ones too), optionals as their value or null', () => {
    expect(assembleOutputs(layout.outputs, { s_0: 1, s_1: 2, s_2: 3, o: 4 })).toEqual({ s: [1, 2, 3], o: 4, e: [] });
    expect(assembleOutputs([{ name: 'n', kind: 'optional', items: [], holds: 'none' }], {})).toEqual({ n: null });
    expect(() => assembleOutputs(layout.outputs, { s_0: 1 })).toThrow(/no 's_1' \(part of 's'\)/);
  });

  it('tells a layout of plain tensors', () => {
    expect(isPlainLayout(tensorLayout(['x'], ['y']))).toBe(true);
    expect(isPlainLayout(layout)).toBe(false);
  });

  it('reads a layout from JSON, checked against the program\'s tensors', () => {
    const program = { inputs: ['xs_0', 'xs_1', 't'].map((name) => ({ name })), outputs: ['s_0', 's_1', 's_2', 'o'].map((name) => ({ name })) };
    expect(parseIoLayout(JSON.parse(JSON.stringify(layout)), 'layout', program, fail)).toEqual(layout);
    expect(() => parseIoLayout({ ...layout, outputs: layout.outputs.slice(1) }, 'layout', program, fail)).toThrow(/layout\.outputs does not name the program's outputs/);
    expect(() => parseIoLayout({ ...layout, inputs: [{ name: 'xs', kind: 'list', items: [] }] }, 'layout', program, fail)).toThrow(/layout\.inputs\[0\]\.kind must be/);
    expect(() => parseIoLayout({ ...layout, inputs: [{ name: 't', kind: 'tensor', items: ['t'], holds: 'none' }] }, 'layout', program, fail)).toThrow(/holds must be/);
  });
});
