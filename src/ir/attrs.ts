import type { Graph } from './graph.js';
import type { TensorData } from './tensor-data.js';

/**
 * An attribute value: numbers, flags, names, lists of numbers, tensor contents (constants), or
 * a graph (the body of a fused kernel).
 */
export type AttrValue = number | boolean | string | readonly number[] | TensorData | Graph;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** What kind of value an attribute holds; the parser and verifier check against it. */
export type AttrKind = 'int' | 'float' | 'bool' | 'string' | 'ints' | 'floats' | 'tensor' | 'graph';

/** True for a graph-valued attribute (checked structurally: attrs.ts cannot import Graph's class). */
export function isGraphAttr(v: unknown): v is Graph {
  return typeof v === 'object' && v !== null && 'nodes' in v && 'inputs' in v && 'outputs' in v;
}

/** One attribute of an op; without a default it is required unless marked optional. */
export interface AttrSpec {
  readonly kind: AttrKind;
  readonly default?: AttrValue;
  readonly optional?: boolean;
}
