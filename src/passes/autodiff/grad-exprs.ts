import type { Value } from '../../ir/graph.js';
import type { GradContext } from './grad-context.js';

/**
 * A small expression builder for rules written as formulas: arithmetic on values and numbers,
 * where a number becomes a scalar constant of `like`'s dtype and device.
 */
export function exprs(c: GradContext, like: Value) {
  const v = (a: Value | number) => (typeof a === 'number' ? c.scalar(a, like) : a);
  return {
    v,
    add: (a: Value | number, b: Value | number) => c.emit('add', [v(a), v(b)]),
    sub: (a: Value | number, b: Value | number) => c.emit('sub', [v(a), v(b)]),
    mul: (a: Value | number, b: Value | number) => c.emit('mul', [v(a), v(b)]),
    div: (a: Value | number, b: Value | number) => c.emit('div', [v(a), v(b)]),
    where: (cond: Value, a: Value | number, b: Value | number) => c.emit('where', [cond, v(a), v(b)]),
    cmp: (op: 'greater' | 'greater_equal' | 'less' | 'less_equal', a: Value, b: number) => c.emit(op, [a, v(b)]),
    fn: (op: string, a: Value) => c.emit(op, [a]),
  };
}
