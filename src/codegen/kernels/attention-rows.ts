import { dCeilDiv, dNumel } from '../../ir/size-expr.js';
import { KilnError } from '../../ir/errors.js';
import { ATTENTION_ROWS_MAX_DIM } from '../../ir/attention.js';
import type { EmittedKernel } from './kernel.js';
import { attentionModule, scoreAt, type AttentionKernelSpec } from './attention.js';

/** Query rows a workgroup takes, one an invocation: lavapipe's SIMD width (8 f32 lanes). */
const ROWS_WG = 8;

/**
 * softmax(f(Q K^T)) V with one invocation a query row, for software adapters with subgroups:
 * each invocation keeps its query and output sums in registers and folds in one key at a time
 * (online softmax), so no invocation waits on another (the attention kernel's workgroup per row
 * pays a barrier at every step of its reductions, which on lavapipe, a workgroup's invocations
 * run as one CPU thread's coroutines, cost more than the two matmuls and softmax it replaced).
 * The rows of a workgroup read the same key and value at each step. lavapipe loads per lane even
 * where lanes share an address, so each lane of a quad loads every fourth vec4 of them and the
 * quad shares them by quadBroadcast (a register move): a key of 64 then costs a lane 4 loads,
 * not 64. No lane leaves early, so every quad is whole. Keys scored -inf (masked) weigh 0; a row
 * with every key masked is NaN. Q, K and V must be read as vec4s (attentionRowsFit, ir/attention.ts).
 */
export function emitAttentionRows(spec: AttentionKernelSpec): EmittedKernel {
  if ([spec.qkDim, spec.valueDim].some((d) => d % 4 !== 0 || d > ATTENTION_ROWS_MAX_DIM)) throw new KilnError(`${spec.name}: the row attention kernel takes query/value vectors of at most ${ATTENTION_ROWS_MAX_DIM}, multiples of 4, not ${spec.qkDim}/${spec.valueDim}`);
  const [E4, V4] = [spec.qkDim / 4, spec.valueDim / 4];
  const blocks = dCeilDiv(spec.queries, ROWS_WG);
  const { m, Q, K, V, S, negInf, nan, offsets } = attentionModule(spec, 'blocks of queries', blocks, true);
  m.enable('subgroups');
  // Lane p of a quad loads vec4s p, p + 4, ... of a row (clamped: loaded, never used past its end).
  const loads = (name: string, from: string, count: number, start: string) => Array.from({ length: Math.ceil(count / 4) }, (_, r) => `let ${name}${r} = vec4<f32>(${from}[(${start}) / 4u + min(${4 * r}u + quad, ${count - 1}u)]);`);
  const shared = (name: string, a: number) => `quadBroadcast(${name}${a >> 2}, ${a & 3}u)`;
  const out = spec.dtype === 'f16' ? 'f16' : 'f32';
  const L: string[] = [
    `  let row = wid.x * ${ROWS_WG}u + lid.x;`,
    '  let i = min(row, u.L - 1u);',
    '  let quad = sgLane & 3u;',
    ...offsets,
    '  let qBase = (u.qOff + qB + i * u.qOuter) / 4u;',
    ...Array.from({ length: E4 }, (_, a) => `  let q${a} = vec4<f32>(${Q}[qBase + ${a}u]);`),
    ...Array.from({ length: V4 }, (_, a) => `  var acc${a} = vec4<f32>();`),
    `  var rowMax = ${negInf};`,
    '  var rowSum = 0.0f;',
    '  for (var j = 0u; j < u.S; j++) {',
    ...loads('k', K, E4, 'u.kOff + kB + j * u.kInner').map((x) => `    ${x}`),
    `    let dot = ${Array.from({ length: E4 }, (_, a) => `dot(q${a}, ${shared('k', a)})`).join(' + ')};`,
    `    let s = f32(${scoreAt(spec, S, 'dot')});`,
    '    let newMax = max(rowMax, s);',
    // exp(-inf - -inf) is NaN: a masked key weighs 0 even while every key so far is masked.
    `    let rescale = select(exp(rowMax - newMax), 1.0f, newMax == ${negInf});`,
    `    let w = select(exp(s - newMax), 0.0f, s == ${negInf});`,
    '    rowSum = rowSum * rescale + w;',
    ...loads('v', V, V4, 'u.vOff + vB + j * u.vOuter').map((x) => `    ${x}`),
    ...Array.from({ length: V4 }, (_, a) => `    acc${a} = acc${a} * rescale + w * ${shared('v', a)};`),
    '    rowMax = newMax;',
    '  }',
    '  if (row >= u.L) { return; }',
    '  let oBase = oB + i * u.oRow;',
    ...Array.from({ length: spec.valueDim }, (_, c) => `  out[oBase + ${c}u] = ${out}(select(acc${c >> 2}[${c & 3}] / rowSum, ${nan}, rowSum == 0.0f));`),
  ];
  const builtins = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) sgLane: u32';
  return m.kernel(spec.name, { workgroupSize: ROWS_WG, builtins, body: L }, [blocks, dNumel(spec.batchShape), 1]);
}
