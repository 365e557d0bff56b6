import type { DType } from '../../ir/types.js';
import { dimRange, dimText, dNumel, type Dim } from '../../ir/size-expr.js';
import { KilnError } from '../../ir/errors.js';
import type { EmittedKernel } from './kernel.js';
import { KernelModule, unravel, type Source } from '../kernel-module.js';
import { f32Value } from './reduce.js';
import type { MatmulOperandLayout } from './matmul.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../wgsl.js';

/** An operand of the score function, broadcast into the scores [..., L, S]: strides per batch dim, L and S. */
export interface ScoreOperand {
  readonly dtype: DType;
  readonly source: Source;
  readonly batchStrides: readonly Dim[];
  readonly rowStride: Dim;
  readonly colStride: Dim;
}

export interface AttentionKernelSpec {
  readonly name: string;
  /** The dtype of the scores and the result (computed in f32 either way). */
  readonly dtype: DType;
  readonly batchShape: readonly Dim[];
  /** Queries per matrix (L), keys (S). */
  readonly queries: Dim;
  readonly keys: Dim;
  /** Extent of a query/key vector (E) and of a value vector (Ev): fixed, they size workgroup and private arrays. */
  readonly qkDim: number;
  readonly valueDim: number;
  /** Q(b, l, e), K^T(b, e, s) and V(b, s, ev) as matmul operands are read: offset, batch strides, outer, inner. */
  readonly q: MatmulOperandLayout & { readonly source: Source; readonly dtype: DType };
  readonly kT: MatmulOperandLayout & { readonly source: Source; readonly dtype: DType };
  readonly v: MatmulOperandLayout & { readonly source: Source; readonly dtype: DType };
  /** What is done to each score q·k before the softmax (a scale, a mask): f(score, operands at (b, l, s)). */
  readonly score: { readonly operands: readonly ScoreOperand[]; readonly call: (score: string, operands: readonly string[]) => string; readonly decls: readonly string[] };
  readonly out: Source;
  /** Where result (b, l, ev) is stored: batch strides and the row stride (ev is contiguous). Dense, or the heads moved back beside the tokens by a transpose the kernel stores through. */
  readonly outLayout: { readonly batchStrides: readonly Dim[]; readonly rowStride: Dim };
}

/** Keys handled per step: one per invocation. */
const CHUNK = 64;

/** Largest E and Ev the kernel takes (the query row is staged in workgroup memory, each invocation keeps Ev/64 sums). */
export const ATTENTION_MAX_DIM = 512;

/** A workgroup tree reduction of `name` over CHUNK invocations of `red`, leaving the result in red[0]. */
function reduceLines(value: string, op: (a: string, b: string) => string): string[] {
  const L = [`    red[t] = ${value};`, '    workgroupBarrier();'];
  for (let s = CHUNK / 2; s >= 1; s /= 2) L.push(`    if (t < ${s}u) { red[t] = ${op('red[t]', `red[t + ${s}u]`)}; }`, '    workgroupBarrier();');
  return L;
}

/** The module every attention kernel starts from: its uniforms, bindings and batch offsets. */
export interface AttentionModule {
  readonly m: KernelModule;
  /** The names Q, K, V and the score operands are bound under (one binding per tensor). */
  readonly Q: string;
  readonly K: string;
  readonly V: string;
  readonly S: readonly string[];
  /** WGSL expressions of -inf and NaN. */
  readonly negInf: string;
  readonly nan: string;
  /** Lines setting qB, kB, vB, s<k>B and oB, each operand's and the result's offset for the batch item `wid.y`. */
  readonly offsets: readonly string[];
}

/**
 * Declares the uniforms (L, S, each operand's layout and batch strides), binds Q, K, V (as vec4s
 * with `vec4`), the score operands and `out`, and checks one dispatch holds the batch and
 * `rowWorkgroups` (`rowsWhat`: the workgroups along the queries, one a query or a block of them).
 */
export function attentionModule(spec: AttentionKernelSpec, rowsWhat: string, rowWorkgroups: Dim = spec.queries, vec4 = false): AttentionModule {
  const batch = dNumel(spec.batchShape);
  for (const [what, d] of [['batch', batch], [rowsWhat, rowWorkgroups]] as const) {
    if (dimRange(d)[1] > MAX_WORKGROUPS_PER_DIMENSION) throw new KilnError(`${spec.name}: ${what} of ${dimText(d)} exceeds one dispatch (${MAX_WORKGROUPS_PER_DIMENSION})`);
  }
  const m = new KernelModule();
  const u = m.uniforms.scalar('L', spec.queries).scalar('S', spec.keys);
  const negInf = f32Value(-Infinity, u, 'negInf');
  const nan = f32Value(NaN, u, 'nan');
  const layouts = [['q', spec.q], ['k', spec.kT], ['v', spec.v]] as const;
  for (const [p, l] of layouts) u.scalar(`${p}Off`, l.offset).scalar(`${p}Outer`, l.outer).scalar(`${p}Inner`, l.inner);
  spec.score.operands.forEach((o, i) => u.scalar(`s${i}L`, o.rowStride).scalar(`s${i}S`, o.colStride));
  u.scalar('oRow', spec.outLayout.rowStride);
  const br = spec.batchShape.length;
  const offsets = [...layouts.map(([p, l]) => ({ name: `${p}B`, strides: `u_${p}B`, values: l.batchStrides })),
    ...spec.score.operands.map((o, i) => ({ name: `s${i}B`, strides: `u_s${i}B`, values: o.batchStrides })),
    { name: 'oB', strides: 'u_oB', values: spec.outLayout.batchStrides }];
  if (br) {
    u.array('bshape', spec.batchShape);
    for (const o of offsets) u.array(o.name, o.values);
  }
  // One binding per tensor: Q, K and V are often views of one projection.
  const names = new Map<Source, string>();
  const bind = (source: Source, dtype: DType, name: string, byVec4 = false) => names.get(source) ?? (names.set(source, byVec4 ? m.readVec4(name, dtype, source) : m.read(name, dtype, source)), name);
  const [Q, K, V] = layouts.map(([p, l]) => bind(l.source, l.dtype, p.toUpperCase(), vec4)) as [string, string, string];
  const S = spec.score.operands.map((o, i) => bind(o.source, o.dtype, `S${i}`));
  m.write('out', spec.dtype, spec.out);
  m.declare(...spec.score.decls);
  return {
    m, Q, K, V, S, negInf, nan,
    offsets: br ? unravel('wid.y', br, 'u_bshape', offsets.map(({ name, strides }) => ({ name, strides }))) : offsets.map((o) => `  let ${o.name} = 0u;`),
  };
}

/** The score function applied to `dot` for query row `i` and key `j`, reading its operands there. */
export function scoreAt(spec: AttentionKernelSpec, S: readonly string[], dot: string): string {
  return spec.score.call(dot, spec.score.operands.map((o, k) => `${S[k]}[s${k}B + i * u.s${k}L + j * u.s${k}S]`));
}

/**
 * softmax(f(Q K^T)) V in one kernel (flash-attention's online softmax): one workgroup per query
 * row. Each step scores 64 keys, one per invocation, folds them into the row's running max and
 * sum, and rescales the output sums kept in registers; the scores never reach memory. Keys scored
 * -inf (masked) weigh 0; a row with every key masked is NaN, as softmax over -inf is.
 */
export function emitAttention(spec: AttentionKernelSpec): EmittedKernel {
  const { qkDim: E, valueDim: Ev } = spec;
  if (E > ATTENTION_MAX_DIM || Ev > ATTENTION_MAX_DIM) throw new KilnError(`${spec.name}: query/value vectors of ${E}/${Ev} exceed the attention kernel's ${ATTENTION_MAX_DIM}`);
  const { m, Q, K, V, S, negInf, nan, offsets } = attentionModule(spec, 'queries');
  const acc = Math.ceil(Ev / CHUNK);
  m.declare(`var<workgroup> qRow: array<f32, ${E}>;`, `var<workgroup> p: array<f32, ${CHUNK}>;`, `var<workgroup> red: array<f32, ${CHUNK}>;`);
  const L: string[] = [
    '  let i = wid.x;',
    '  let t = lid.x;',
    ...offsets,
    `  let qBase = u.qOff + qB + i * u.qOuter;`,
    `  let kBase = u.kOff + kB;`,
    `  let vBase = u.vOff + vB;`,
    `  for (var e = t; e < ${E}u; e += ${CHUNK}u) { qRow[e] = f32(${Q}[qBase + e * u.qInner]); }`,
    '  workgroupBarrier();',
    `  var rowMax = ${negInf};`,
    '  var rowSum = 0.0f;',
    `  var acc: array<f32, ${acc}>;`,
    `  for (var j0 = 0u; j0 < u.S; j0 += ${CHUNK}u) {`,
    '    let j = j0 + t;',
    `    var s = ${negInf};`,
    '    if (j < u.S) {',
    '      var dot = 0.0f;',
    `      for (var e = 0u; e < ${E}u; e++) { dot += qRow[e] * f32(${K}[kBase + e * u.kOuter + j * u.kInner]); }`,
    `      s = f32(${scoreAt(spec, S, 'dot')});`,
    '    }',
    ...reduceLines('s', (a, b) => `max(${a}, ${b})`),
    '    let newMax = max(rowMax, red[0]);',
    '    workgroupBarrier();',
    // exp(-inf - -inf) is NaN: a masked key weighs 0 even while every key so far is masked.
    `    let w = select(exp(s - newMax), 0.0f, s == ${negInf});`,
    '    p[t] = w;',
    ...reduceLines('w', (a, b) => `${a} + ${b}`),
    `    let rescale = select(exp(rowMax - newMax), 1.0f, newMax == ${negInf});`,
    '    rowSum = rowSum * rescale + red[0];',
    '    rowMax = newMax;',
    `    let n = min(${CHUNK}u, u.S - j0);`,
    `    for (var a = 0u; a < ${acc}u; a++) {`,
    `      let c = t + a * ${CHUNK}u;`,
    `      if (c < ${Ev}u) {`,
    '        var sum = 0.0f;',
    `        for (var jj = 0u; jj < n; jj++) { sum += p[jj] * f32(${V}[vBase + (j0 + jj) * u.vOuter + c * u.vInner]); }`,
    '        acc[a] = acc[a] * rescale + sum;',
    '      }',
    '    }',
    '    workgroupBarrier();',
    '  }',
    '  let oBase = oB + i * u.oRow;',
    `  for (var a = 0u; a < ${acc}u; a++) {`,
    `    let c = t + a * ${CHUNK}u;`,
    `    if (c < ${Ev}u) { out[oBase + c] = ${spec.dtype === 'f16' ? 'f16' : 'f32'}(select(acc[a] / rowSum, ${nan}, rowSum == 0.0f)); }`,
    '  }',
  ];
  const builtins = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>';
  return m.kernel(spec.name, { workgroupSize: CHUNK, builtins, body: L }, [spec.queries, dNumel(spec.batchShape), 1]);
}
