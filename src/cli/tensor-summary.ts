import { stringsOf, type TensorData } from '../ir/tensor-data.js';
import { numbers } from '../io/random-inputs.js';

/** One line describing a tensor's shape and values. */
export function summarize(name: string, t: TensorData): string {
  if (t.dtype === 'string') {
    const s = stringsOf(t);
    return `${name}: string[${t.shape.join(',')}] [${s.slice(0, 6).map((x) => JSON.stringify(x)).join(', ')}${s.length > 6 ? ', ...' : ''}]`;
  }
  const vals = numbers(t);
  const head = vals.slice(0, 6).map((x) => (Number.isInteger(x) ? String(x) : x.toPrecision(5))).join(', ');
  const min = vals.reduce((a, b) => Math.min(a, b), Infinity);
  const max = vals.reduce((a, b) => Math.max(a, b), -Infinity);
  const mean = vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
  const stats = vals.length ? ` min ${min.toPrecision(4)} max ${max.toPrecision(4)} mean ${mean.toPrecision(4)}` : ' (no elements)';
  return `${name}: ${t.dtype}[${t.shape.join(',')}] [${head}${vals.length > 6 ? ', ...' : ''}]${stats}`;
}
