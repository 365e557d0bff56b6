import { describe, expect, it } from 'vitest';
import { graphFromRecord, graphToRecord, type GraphRecord } from '../../src/ir/graph-record.js';
import { parseGraph } from '../../src/ir/parser.js';
import { printGraph } from '../../src/ir/printer.js';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { attrsOf } from '../../src/ir/attrs.js';
import { constAttrs } from '../../src/ir/ops/source.js';

/** Through JSON text and back, as an artifact's manifest stores a record. */
function roundTrip(text: string) {
  const g = parseGraph(text);
  const { record, tensors } = graphToRecord(g);
  const json = JSON.parse(JSON.stringify(record)) as GraphRecord;
  return { g, record: json, tensors, back: graphFromRecord(json, tensors) };
}

const EVERYTHING = `graph "odd name"(%x: f32[N,4] @cpu, %"a b": i32[3] @cpu) -> (f32[N,4] @cpu, f32[N,4] @cpu, i32[3] @cpu) sizes(N: [1, 8]) {
  %c = const() {value = [nan, -0, inf, -inf, 0.1]} : f32[5] @cpu
  %h = const() {value = [0.1, -0, 65500, 6e-8, nan, -inf]} : f16[6] @cpu
  %b = const() {value = [1, 0, 1]} : bool[3] @cpu
  %big = const() {value = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]} : f32[20] @cpu
  %0 = clip(%x) {max = inf, min = -inf} : f32[N,4] @cpu
  %1 = fused(%x, %0) {body = graph neg_add(%p: f32[N,4] @cpu, %q: f32[N,4] @cpu) -> (f32[N,4] @cpu) sizes(N: [1, 8]) {
      %r = neg(%p) : f32[N,4] @cpu
      %s = add(%r, %q) : f32[N,4] @cpu
      return %s
    }} : f32[N,4] @cpu
  %2 = where(%b, %"a b", %"a b") : i32[3] @cpu
  %3 = reshape(%x) {shape = [-1, 4]} : f32[N,4] @cpu
  return %1, %3, %2
}
`;

describe('graph records (graphs as JSON data, for artifacts)', () => {
  it('round-trip a graph exactly: names, sizes, devices, special numbers, constants of every dtype and a nested graph', () => {
    const { g, back, tensors } = roundTrip(EVERYTHING);
    // Printed with every constant inline, the two graphs are the same text.
    expect(printGraph(back, { inlineLimit: Infinity })).toBe(printGraph(g, { inlineLimit: Infinity }));
    expect(tensors).toHaveLength(4);
    const data = (graph: typeof g, name: string): TensorData => attrsOf(graph.nodes.find((n) => n.outputs[0]!.name === name)!, constAttrs).value!;
    for (const name of ['c', 'h', 'b', 'big']) expect(Array.from(data(back, name).data)).toEqual(Array.from(data(g, name).data));
    expect(Object.is(data(back, 'c').data[1], -0)).toBe(true);
    expect(Number.isNaN(data(back, 'c').data[0])).toBe(true);
    const clip = back.nodes.find((n) => n.op === 'clip')!;
    expect(clip.attrs).toMatchObject({ min: -Infinity, max: Infinity });
  });

  it('writes numbers JSON cannot hold as strings, and a tensor shared by two attributes once', () => {
    const { record } = roundTrip(EVERYTHING);
    expect(record.nodes.find((n) => n.op === 'clip')!.attrs).toEqual({ min: { n: '-Infinity' }, max: { n: 'Infinity' } });
    const g = parseGraph('graph g() -> (f32[2] @cpu, f32[2] @cpu) {\n  %a = const() {value = [1, 2]} : f32[2] @cpu\n  return %a, %a\n}\n');
    expect(graphToRecord(g).tensors).toHaveLength(1);
  });

  it('refuses a record that does not describe a valid graph, naming the node', () => {
    const { record, tensors } = roundTrip(EVERYTHING);
    const wrongType = { ...record, nodes: record.nodes.map((n) => (n.op === 'reshape' ? { ...n, outputs: [{ name: '3', type: { dtype: 'i32' as const, shape: [8, 4], device: 'cpu' as const, dims: ['N', 4] } }] } : n)) };
    expect(() => graphFromRecord(wrongType, tensors)).toThrow(/reshape.*declared i32\[N,4\] @cpu/);
    const unknownValue = { ...record, outputs: ['nowhere'] };
    expect(() => graphFromRecord(unknownValue, tensors)).toThrow(/value %nowhere is not defined/);
    const noTensor = { ...record };
    expect(() => graphFromRecord(noTensor, [])).toThrow(/tensor #0 is missing/);
    const badNumber = { ...record, nodes: record.nodes.map((n) => (n.op === 'clip' ? { ...n, attrs: { min: { n: 'lots' }, max: { n: 1 } } } : n)) };
    expect(() => graphFromRecord(badNumber, tensors)).toThrow(/'lots' is not a number/);
  });
});
