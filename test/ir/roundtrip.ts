// Shared assertion: a graph survives print -> parse -> print unchanged. Other test files call
// expectRoundTrip on their own graphs (importers, passes) to keep the text format honest.
import { expect } from 'vitest';
import type { Graph } from '../../src/ir/graph.js';
import { fromF16Array } from '../../src/ir/f16.js';
import { parseGraph } from '../../src/ir/parser.js';
import { graphWeights, printGraph, type PrintOptions } from '../../src/ir/printer.js';
import { isTensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { verify } from '../../src/ir/verify.js';

/**
 * Asserts that `printGraph(parseGraph(printGraph(g)))` equals `printGraph(g)`, that the
 * re-parsed graph verifies, and that every const gets its data back (elided ones through
 * graphWeights). Returns the re-parsed graph.
 */
export function expectRoundTrip(g: Graph, opts: PrintOptions = {}): Graph {
  const text = printGraph(g, opts);
  const again = parseGraph(text, { weights: graphWeights(g, opts) });
  expect(printGraph(again, opts)).toBe(text);
  verify(again);
  expect(again.nodes.length).toBe(g.nodes.length);
  g.nodes.forEach((n, i) => {
    const before = n.attrs.value;
    if (!isTensorData(before)) return;
    const after = again.nodes[i]!.attrs.value;
    expect(isTensorData(after), `const ${n.outputs[0]!.name} lost its value`).toBe(true);
    expect(elements(after as TensorData)).toEqual(elements(before));
  });
  return again;
}

/** Dtype, shape and elements (f16 decoded, so every NaN compares equal) of a tensor. */
function elements(t: TensorData): unknown {
  const values = t.dtype === 'f16' ? fromF16Array(t.data as Uint16Array) : t.data;
  return { dtype: t.dtype, shape: [...t.shape], values: Array.from(values) };
}
