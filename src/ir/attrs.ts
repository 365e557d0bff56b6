import { KilnError } from './errors.js';
import type { Graph } from './graph.js';
import { isTensorData, type TensorData } from './tensor-data.js';

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

/** The TypeScript type of each kind of attribute. */
export interface AttrTypes {
  int: number;
  float: number;
  bool: boolean;
  string: string;
  ints: readonly number[];
  floats: readonly number[];
  tensor: TensorData;
  graph: Graph;
}

/** An op's attribute schema: name -> spec. */
export type AttrSpecs = Readonly<Record<string, AttrSpec>>;

/**
 * The attribute values a schema describes, typed: each one of its kind's type, and possibly
 * undefined only when optional (a node stores every other one, its default filled in).
 */
export type AttrsOf<A extends AttrSpecs> = {
  readonly [K in Exclude<keyof A, OptionalKeys<A>>]: AttrTypes[A[K]['kind']];
} & {
  readonly [K in OptionalKeys<A>]?: AttrTypes[A[K]['kind']];
};

type OptionalKeys<A extends AttrSpecs> = { [K in keyof A]: A[K] extends { readonly optional: true } ? K : never }[keyof A];

/** Whether `v` is a value of attribute kind `kind`. */
export function isAttrKind(kind: AttrKind, v: AttrValue): boolean {
  switch (kind) {
    case 'int': return typeof v === 'number' && Number.isInteger(v);
    case 'float': return typeof v === 'number';
    case 'bool': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'ints': return Array.isArray(v) && v.every((x) => Number.isInteger(x));
    case 'floats': return Array.isArray(v) && v.every((x) => typeof x === 'number');
    case 'tensor': return isTensorData(v);
    case 'graph': return isGraphAttr(v);
  }
}

/**
 * A node's attributes typed by an op's schema (the op's exported `...Attrs` specs), so code
 * reads `attrsOf(node, conv2dAttrs).stride` instead of casting. Each value is checked against
 * its kind, so a schema that does not describe the node fails here, naming both.
 */
export function attrsOf<const A extends AttrSpecs>(node: { readonly op: string; readonly attrs: Attrs }, specs: A): AttrsOf<A> {
  return typedAttrs(node.attrs, specs, node.op);
}

/** As attrsOf, for an attribute record without its node (`what` names it in errors). */
export function typedAttrs<const A extends AttrSpecs>(attrs: Attrs, specs: A, what = 'attributes'): AttrsOf<A> {
  for (const [key, spec] of Object.entries(specs)) {
    const v = attrs[key];
    if (v === undefined ? !spec.optional : !isAttrKind(spec.kind, v)) {
      throw new KilnError(`${what}: attribute '${key}' should be ${spec.optional ? 'absent or ' : ''}${spec.kind}, got ${v === undefined ? 'none' : typeof v}`);
    }
  }
  // Checked above, key by key: the record is what the schema says.
  return attrs as AttrsOf<A>;
}
