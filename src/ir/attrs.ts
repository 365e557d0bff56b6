import type { TensorData } from './tensor-data.js';

/** An attribute value: numbers, flags, names, lists of numbers, or tensor contents (constants). */
export type AttrValue = number | boolean | string | readonly number[] | TensorData;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** What kind of value an attribute holds; the parser and verifier check against it. */
export type AttrKind = 'int' | 'float' | 'bool' | 'string' | 'ints' | 'floats' | 'tensor';

/** One attribute of an op; without a default it is required unless marked optional. */
export interface AttrSpec {
  readonly kind: AttrKind;
  readonly default?: AttrValue;
  readonly optional?: boolean;
}
