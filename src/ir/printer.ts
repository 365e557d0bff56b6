// Prints a Graph as IR text (the format: docs/ir-format.md). The parser reads exactly
// this back: parse(print(g)) prints the same text. This file must not import the parser, so
// that dumping IR never loads chevrotain.
import { attrsOf, isGraphAttr, type AttrValue } from './attrs.js';
import { f16BitsToF32, f32ToF16Bits } from './f16.js';
import type { Graph, Node } from './graph.js';
import { getOp, hasOp } from './ops/index.js';
import { constAttrs } from './ops/source.js';
import { isTensorData, stringsOf, type TensorData } from './tensor-data.js';
import { dimsOf, formatType } from './types.js';
import { sizeVarsOf } from './size-expr.js';

export interface PrintOptions {
  /** Consts with more elements than this are printed as `{ref = "NAME"}` (default 16). */
  inlineLimit?: number;
}

const DEFAULT_INLINE_LIMIT = 16;

/** Prints a graph as IR text, one node per line, ending with a newline. */
export function printGraph(g: Graph, opts: PrintOptions = {}): string {
  const elided = elidedConsts(g, opts);
  const params = g.inputs.map((v) => `${formatValueName(v.name)}: ${formatType(v.type)}`);
  const results = g.outputs.map((v) => formatType(v.type));
  const sizes = [...sizeVarsOf(g.values().flatMap((v) => dimsOf(v.type))).values()].map((v) => `${v.name}: [${v.min}, ${v.max}]`);
  const header = sizes.length ? ` sizes(${sizes.join(', ')})` : '';
  const lines = [`graph ${formatGraphName(g.name)}(${params.join(', ')}) -> (${results.join(', ')})${header} {`];
  for (const n of g.nodes) lines.push(`  ${formatNode(n, elided.get(n))}`);
  const returned = g.outputs.map((v) => formatValueName(v.name)).join(', ');
  lines.push(returned ? `  return ${returned}` : '  return', '}');
  return `${lines.join('\n')}\n`;
}

/**
 * The data of the consts that printGraph leaves out, keyed by the ref it prints for them:
 * `parseGraph(printGraph(g), { weights: graphWeights(g) })` rebuilds the whole graph.
 */
export function graphWeights(g: Graph, opts: PrintOptions = {}): Map<string, TensorData> {
  const weights = new Map<string, TensorData>();
  for (const [node, ref] of elidedConsts(g, opts)) weights.set(ref, attrsOf(node, constAttrs).value!);
  return weights;
}

/** `%x`, or `%"..."` when the name has characters the bare form cannot hold. */
export function formatValueName(name: string): string {
  return /^[A-Za-z0-9_.]+$/.test(name) ? `%${name}` : `%${JSON.stringify(name)}`;
}

// Words the lexer reads as keywords or numbers, so a graph with such a name is quoted.
const RESERVED = new Set(['graph', 'return', 'inf', 'nan']);

/** A graph name as an identifier, or quoted when it is not one. */
export function formatGraphName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(name) && !RESERVED.has(name) ? name : JSON.stringify(name);
}

/**
 * The large consts to print as refs, with the ref name of each: the const's own `ref`, else
 * its value's name. A name already taken by other data gets a `#n` suffix, so that
 * graphWeights never has to drop a tensor.
 */
function elidedConsts(g: Graph, opts: PrintOptions): Map<Node, string> {
  const limit = opts.inlineLimit ?? DEFAULT_INLINE_LIMIT;
  const out = new Map<Node, string>();
  const taken = new Map<string, TensorData>();
  for (const n of g.nodes) {
    const value = n.attrs.value;
    // String constants stay inline: weight files hold numbers.
    if (n.op !== 'const' || !isTensorData(value) || value.dtype === 'string' || value.data.length <= limit) continue;
    const base = typeof n.attrs.ref === 'string' ? n.attrs.ref : n.outputs[0]!.name;
    let ref = base;
    for (let k = 2; taken.has(ref) && taken.get(ref) !== value; k++) ref = `${base}#${k}`;
    taken.set(ref, value);
    out.set(n, ref);
  }
  return out;
}

function formatNode(n: Node, elidedRef: string | undefined): string {
  const results = n.outputs.map((v) => formatValueName(v.name)).join(', ');
  const operands = n.inputs.map((v) => formatValueName(v.name)).join(', ');
  const attrs = printedAttrs(n, elidedRef)
    .map(([k, v]) => `${k} = ${formatAttrValue(v)}`)
    .join(', ');
  const types = n.outputs.map((v) => formatType(v.type)).join(', ');
  return `${results} = ${n.op}(${operands})${attrs ? ` {${attrs}}` : ''} : ${types}`;
}

/** Attributes worth printing, sorted: those that differ from the op's default. */
function printedAttrs(n: Node, elidedRef: string | undefined): [string, AttrValue][] {
  const specs = hasOp(n.op) ? getOp(n.op).attrSpecs : {};
  const entries: [string, AttrValue][] = [];
  for (const [key, v] of Object.entries(n.attrs)) {
    const dflt = specs[key]?.default;
    if (dflt !== undefined && attrEquals(v, dflt)) continue;
    if (elidedRef !== undefined && (key === 'value' || key === 'ref')) continue;
    entries.push([key, v]);
  }
  if (elidedRef !== undefined) entries.push(['ref', elidedRef]);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function attrEquals(a: AttrValue, b: AttrValue): boolean {
  if (isGraphAttr(a) || isGraphAttr(b)) return a === b;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  return Object.is(a, b);
}

function formatAttrValue(v: AttrValue): string {
  // A nested graph spans several lines, indented one level deeper than the node holding it. Its
  // constants print inline, whatever their size: graphWeights holds the top level's only.
  if (isGraphAttr(v)) return printGraph(v, { inlineLimit: Infinity }).trimEnd().split('\n').map((l, i) => (i === 0 ? l : `    ${l}`)).join('\n');
  if (isTensorData(v)) {
    if (v.dtype === 'string') return `[${stringsOf(v).map((s) => JSON.stringify(s)).join(', ')}]`;
    const format = v.dtype === 'f32' ? shortestFor(Math.fround) : v.dtype === 'f16' ? shortestFor(f32ToF16Bits) : formatNumber;
    return `[${tensorElements(v).map(format).join(', ')}]`;
  }
  if (Array.isArray(v)) return `[${v.map(formatNumber).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  return formatNumber(v as number);
}

/** Elements as numbers: f16 decoded from its bits, bool as 0/1. */
function tensorElements(t: TensorData): number[] {
  return t.dtype === 'f16' ? Array.from(t.data, f16BitsToF32) : Array.from(t.data);
}

/**
 * Formats elements by the shortest decimal that `round` maps to the same stored value (f32:
 * 0.1, not 0.10000000149011612; f16: 0.09998): all the precision the element has.
 */
function shortestFor(round: (x: number) => number): (x: number) => string {
  return (x) => {
    if (!Number.isFinite(x) || Object.is(x, -0)) return formatNumber(x);
    const want = round(x);
    for (let p = 1; p < 17; p++) {
      const s = Number(x.toPrecision(p));
      if (round(s) === want) return formatNumber(s);
    }
    return formatNumber(x);
  };
}

/** Shortest round-trip form; `-0`, `inf`, `-inf`, `nan` spelled so the parser gets them back. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  return String(x);
}
