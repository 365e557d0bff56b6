import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { useDefaultGpu } from './default-gpu.js';

// torch.nn.MultiheadAttention, TransformerEncoderLayer and TransformerEncoder on the CPU and on
// WebGPU, against PyTorch's documented definitions computed here in float64 from the modules'
// parameters: MultiHead(Q, K, V) = Concat(head_1..h) W_O, head_i = softmax(Q W_Q,i (K W_K,i)^T /
// sqrt(d) + mask) V W_V,i; a bool mask is true where attention is not allowed, a float one added.

const { nn } = kiln;

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 2003) / 1001.5) - 1);
const flat = (t: kiln.Tensor | undefined) => [t!.tolist()].flat(6) as number[];

/** y = x W^T + b for rows x [R, in], W [out, in] flat. */
function linear(x: number[][], w: number[], b: number[] | undefined, out: number): number[][] {
  return x.map((row) => Array.from({ length: out }, (_, o) => row.reduce((acc, v, i) => acc + v * w[o * row.length + i]!, b?.[o] ?? 0)));
}

interface Masks {
  /** [N][S]: true where a key is padding. */
  readonly keyPadding?: boolean[][];
  /** (n, head, l, s) -> true where not allowed, or a number added. */
  readonly attn?: (n: number, h: number, l: number, s: number) => boolean | number;
}

/** Multi-head attention in float64: q [N][L][E], k [N][S][kd], v [N][S][vd]; returns out [N][L][E] and weights [N][H][L][S]. */
function mhaRef(p: Map<string, number[]>, heads: number, q: number[][][], k: number[][][], v: number[][][], masks: Masks = {}) {
  const e = q[0]![0]!.length;
  const d = e / heads;
  const inW = p.get('in_proj_weight');
  const w = (i: number, name: string) => inW?.slice(i * e * e, (i + 1) * e * e) ?? p.get(name)!;
  const b = (i: number) => p.get('in_proj_bias')?.slice(i * e, (i + 1) * e);
  const weights: number[][][][] = [];
  const out = q.map((qn, n) => {
    const [Q, K, V] = [linear(qn, w(0, 'q_proj_weight'), b(0), e), linear(k[n]!, w(1, 'k_proj_weight'), b(1), e), linear(v[n]!, w(2, 'v_proj_weight'), b(2), e)];
    const concat = qn.map(() => new Array<number>(e).fill(0));
    weights.push([]);
    for (let h = 0; h < heads; h++) {
      weights[n]!.push([]);
      Q.forEach((qi, l) => {
        const scores = K.map((kj, s) => {
          let x = 0;
          for (let t = 0; t < d; t++) x += qi[h * d + t]! * kj[h * d + t]!;
          x /= Math.sqrt(d);
          const m = masks.attn?.(n, h, l, s);
          if (m === true || masks.keyPadding?.[n]![s]) return -Infinity;
          return typeof m === 'number' ? x + m : x;
        });
        const top = Math.max(...scores);
        const ex = scores.map((x) => Math.exp(x - top));
        const sum = ex.reduce((a, c) => a + c, 0);
        const a = ex.map((x) => x / sum);
        weights[n]![h]!.push(a);
        for (let t = 0; t < d; t++) concat[l]![h * d + t] = a.reduce((acc, aj, s) => acc + aj * V[s]![h * d + t]!, 0);
      });
    }
    return linear(concat, p.get('out_proj.weight')!, p.get('out_proj.bias'), e);
  });
  return { out, weights };
}

function layerNormRef(x: number[][], g: number[], b: number[], eps = 1e-5): number[][] {
  return x.map((row) => {
    const mean = row.reduce((a, c) => a + c, 0) / row.length;
    const varc = row.reduce((a, c) => a + (c - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(varc + eps)) * g[i]! + b[i]!);
  });
}

const gelu = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
/** erf to 1e-12 (its Taylor series; |x| here is small). */
function erf(x: number): number {
  let sum = 0;
  let term = x;
  for (let n = 0; n < 80; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** A TransformerEncoderLayer in float64 on x [N][S][E] (eval: no dropout). */
function encoderLayerRef(p: Map<string, number[]>, heads: number, x: number[][][], normFirst: boolean, act: (v: number) => number, masks: Masks = {}): number[][][] {
  const sub = (prefix: string) => new Map([...p].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const attn = (y: number[][][]) => mhaRef(sub('self_attn.'), heads, y, y, y, masks).out;
  const ff = (y: number[][]) => linear(linear(y, p.get('linear1.weight')!, p.get('linear1.bias'), p.get('linear1.bias')!.length).map((r) => r.map(act)), p.get('linear2.weight')!, p.get('linear2.bias'), y[0]!.length);
  const norm = (i: number, y: number[][]) => layerNormRef(y, p.get(`norm${i}.weight`)!, p.get(`norm${i}.bias`)!);
  const add = (a: number[][], b: number[][]) => a.map((r, i) => r.map((v, j) => v + b[i]![j]!));
  if (normFirst) {
    const h = x.map((xn, n) => add(xn, attn(x.map((y) => norm(1, y)))[n]!));
    return h.map((hn) => add(hn, ff(norm(2, hn))));
  }
  const h = attn(x).map((an, n) => norm(1, add(x[n]!, an)));
  return h.map((hn) => norm(2, add(hn, ff(hn))));
}

/** A TransformerDecoderLayer in float64 on tgt [N][T][E] and memory [N][S][E] (eval: no dropout). */
function decoderLayerRef(p: Map<string, number[]>, heads: number, x: number[][][], mem: number[][][], normFirst: boolean, selfMasks: Masks = {}): number[][][] {
  const sub = (prefix: string) => new Map([...p].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const selfAttn = (y: number[][][]) => mhaRef(sub('self_attn.'), heads, y, y, y, selfMasks).out;
  const cross = (y: number[][][]) => mhaRef(sub('multihead_attn.'), heads, y, mem, mem).out;
  const ff = (y: number[][][]) => y.map((yn) => linear(linear(yn, p.get('linear1.weight')!, p.get('linear1.bias'), p.get('linear1.bias')!.length).map((r) => r.map((v) => Math.max(0, v))), p.get('linear2.weight')!, p.get('linear2.bias'), yn[0]!.length));
  const norm = (i: number, y: number[][][]) => y.map((yn) => layerNormRef(yn, p.get(`norm${i}.weight`)!, p.get(`norm${i}.bias`)!));
  const add = (a: number[][][], b: number[][][]) => a.map((an, n) => an.map((r, i) => r.map((v, j) => v + b[n]![i]![j]!)));
  return [selfAttn, cross, ff].reduce((h, f, i) => (normFirst ? add(h, f(norm(i + 1, h))) : norm(i + 1, add(h, f(h)))), x);
}

/** Flat [A, B, C] values as nested [A][B][C]. */
const nest = (a: number[], A: number, B: number, C: number) => Array.from({ length: A }, (_, i) => Array.from({ length: B }, (_, j) => a.slice((i * B + j) * C, (i * B + j + 1) * C)));
/** [A][B][C] as flat [B, A, C]. */
const swapFlat = (x: number[][][]) => x[0]!.flatMap((_, j) => x.flatMap((row) => row[j]!));

function expectClose(got: number[], want: number[], what: string, tol = 2e-5) {
  expect(got, what).toHaveLength(want.length);
  const worst = Math.max(0, ...got.map((v, i) => (Number.isNaN(v) !== Number.isNaN(want[i]!) ? Infinity : Number.isNaN(v) ? 0 : Math.abs(v - want[i]!))));
  expect(worst, what).toBeLessThanOrEqual(tol);
}

const params = (m: kiln.nn.Module<kiln.nn.ModuleOutput>) => new Map(m.namedParameters().map(([k, t]) => [k, flat(t)]));

describe('torch.nn attention and transformer layers', () => {
  const gpu = useDefaultGpu();

  /** `f` on the CPU, then on WebGPU with the module and inputs moved there; the results read back. */
  const onBoth = async <T extends kiln.Tensor[]>(m: kiln.nn.Module<kiln.nn.ModuleOutput>, inputs: T, f: (...xs: T) => (kiln.Tensor | undefined)[]) => {
    const cpu = f(...inputs).map((t) => (t ? flat(t) : undefined));
    await m.to(gpu());
    const moved = (await Promise.all(inputs.map((t) => t.to(gpu())))) as T;
    const webgpu = await Promise.all(f(...moved).map(async (t) => (t ? flat(await t.to('cpu')) : undefined)));
    return [cpu, webgpu];
  };

  it('MultiheadAttention, sequence first, cross-attention with a key padding mask and a bool attention mask: output and head-averaged weights', async () => {
    kiln.manualSeed(5);
    const [E, H, N, L, S] = [8, 2, 2, 3, 4];
    const m = new nn.MultiheadAttention(E, H);
    expect(m.namedParameters().map(([k, t]) => [k, t.shape])).toEqual([['in_proj_weight', [24, 8]], ['in_proj_bias', [24]], ['out_proj.weight', [8, 8]], ['out_proj.bias', [8]]]);
    const [qs, ks, vs] = [values(L * N * E, 1), values(S * N * E, 2), values(S * N * E, 3)];
    const keyPadding = [[false, false, true, false], [false, true, false, true]];
    const attnMask = [[false, true, false, false], [false, false, false, true], [true, false, false, false]];
    // The reference reads [N][T][F]; the module takes [T, N, F].
    const swap = (a: number[], T: number) => nest(swapFlat(nest(a, T, N, E)), N, T, E);
    const want = mhaRef(params(m), H, swap(qs, L), swap(ks, S), swap(vs, S), { keyPadding, attn: (_n, _h, l, s) => attnMask[l]![s]! });
    const x = (a: number[], T: number) => kiln.tensor(a).reshape(T, N, E);
    const masks = { keyPaddingMask: kiln.tensor(keyPadding, { dtype: 'bool' }), attnMask: kiln.tensor(attnMask, { dtype: 'bool' }) };
    const [cpu, webgpu] = await onBoth(m, [x(qs, L), x(ks, S), x(vs, S), masks.keyPaddingMask, masks.attnMask], (q, k, v, kp, am) => m.call(q, k, v, { keyPaddingMask: kp, attnMask: am }));
    const averaged = want.weights.flatMap((wn) => wn[0]!.flatMap((row, l) => row.map((_, s) => wn.reduce((a, wh) => a + wh[l]![s]!, 0) / H)));
    for (const [got, where] of [[cpu, 'the CPU'], [webgpu, 'WebGPU']] as const) {
      expectClose(got[0]!, swapFlat(want.out), `output on ${where}`);
      expectClose(got[1]!, averaged, `weights on ${where}`);
    }
  });

  it('MultiheadAttention, batch first, keys and values of other widths, a float mask per head, weights per head; unbatched causal self-attention', async () => {
    kiln.manualSeed(6);
    const [E, H, N, L, S, KD, VD] = [6, 3, 2, 2, 3, 5, 4];
    const m = new nn.MultiheadAttention(E, H, { batchFirst: true, kdim: KD, vdim: VD });
    expect(m.namedParameters().map(([k]) => k)).toEqual(['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    const [qs, ks, vs, fm] = [values(N * L * E, 4), values(N * S * KD, 5), values(N * S * VD, 6), values(N * H * L * S, 7)];
    const want = mhaRef(params(m), H, nest(qs, N, L, E), nest(ks, N, S, KD), nest(vs, N, S, VD), { attn: (n, h, l, s) => fm[((n * H + h) * L + l) * S + s]! });
    const inputs: kiln.Tensor[] = [kiln.tensor(qs).reshape(N, L, E), kiln.tensor(ks).reshape(N, S, KD), kiln.tensor(vs).reshape(N, S, VD), kiln.tensor(fm).reshape(N * H, L, S)];
    const [cpu, webgpu] = await onBoth(m, inputs, (...[q, k, v, am]) => m.call(q!, k!, v!, { attnMask: am!, averageAttnWeights: false }));
    for (const [got, where] of [[cpu, 'the CPU'], [webgpu, 'WebGPU']] as const) {
      expectClose(got[0]!, want.out.flat(2), `output on ${where}`);
      expectClose(got[1]!, want.weights.flat(3), `weights per head on ${where}`);
    }

    const self = new nn.MultiheadAttention(4, 2);
    const xs = values(3 * 4, 8);
    const ref = mhaRef(params(self), 2, [nest(xs, 3, 1, 4).map((r) => r[0]!)], [nest(xs, 3, 1, 4).map((r) => r[0]!)], [nest(xs, 3, 1, 4).map((r) => r[0]!)], { attn: (_n, _h, l, s) => s > l });
    const [out, none] = self.call(kiln.tensor(xs).reshape(3, 4), kiln.tensor(xs).reshape(3, 4), kiln.tensor(xs).reshape(3, 4), { isCausal: true, needWeights: false });
    expect(none).toBeUndefined();
    expectClose(flat(out), ref.out.flat(2), 'unbatched causal output');
    expect(() => self.call(kiln.zeros([3, 1, 4]), kiln.zeros([3, 1, 4]), kiln.zeros([3, 1, 4]), { keyPaddingMask: kiln.zeros([2, 3], { dtype: 'bool' }) })).toThrow('keyPaddingMask must be [1,3], got [2,3]');
    expect(() => new nn.MultiheadAttention(6, 4)).toThrow('embedDim (6) must be divisible by numHeads (4)');
  });

  it('TransformerEncoderLayer post-norm (relu) and pre-norm (gelu, batch first, key padding), and TransformerEncoder stacking copies of one layer', async () => {
    kiln.manualSeed(7);
    const [E, H, FF, N, S] = [8, 2, 16, 2, 3];
    const xs = values(N * S * E, 9);
    const post = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: FF }).eval();
    const wantPost = encoderLayerRef(params(post), H, nest(swapFlat(nest(xs, S, N, E)), N, S, E), false, (v) => Math.max(0, v));
    const [cpu, webgpu] = await onBoth(post, [kiln.tensor(xs).reshape(S, N, E)], (x) => [post.call(x)]);
    expectClose(cpu[0]!, swapFlat(wantPost), 'post-norm on the CPU');
    expectClose(webgpu[0]!, swapFlat(wantPost), 'post-norm on WebGPU');

    const pre = new nn.TransformerEncoderLayer(E, H, { dimFeedforward: FF, normFirst: true, activation: 'gelu', batchFirst: true }).eval();
    const keyPadding = [[false, false, true], [false, false, false]];
    const wantPre = encoderLayerRef(params(pre), H, nest(xs, N, S, E), true, gelu, { keyPadding });
    const got = pre.call(kiln.tensor(xs).reshape(N, S, E), { srcKeyPaddingMask: kiln.tensor(keyPadding, { dtype: 'bool' }) });
    expectClose(flat(got), wantPre.flat(2), 'pre-norm with key padding');

    const encoder = new nn.TransformerEncoder(pre, 2, { norm: new nn.LayerNorm(E) }).eval();
    expect(encoder.namedParameters().map(([k]) => k)).toContain('layers.1.self_attn.in_proj_weight');
    // Each layer starts as a copy of the one given (PyTorch deep-copies it), not the same tensors.
    expect(flat(encoder.layers.at(1)!.linear1.weight)).toEqual(flat(pre.linear1.weight));
    expect(encoder.layers.at(1)!.linear1.weight).not.toBe(pre.linear1.weight);
    const twice = encoderLayerRef(params(pre), H, encoderLayerRef(params(pre), H, nest(xs, N, S, E), true, gelu), true, gelu);
    const normed = twice.map((r) => layerNormRef(r, new Array<number>(E).fill(1), new Array<number>(E).fill(0)));
    expectClose(flat(encoder.call(kiln.tensor(xs).reshape(N, S, E))), normed.flat(2), 'encoder of two layers and a norm');
  });

  it('TransformerDecoderLayer (post- and pre-norm, a causal float mask), TransformerDecoder, and nn.Transformer end to end', async () => {
    kiln.manualSeed(9);
    const [E, H, FF, N, T, S] = [8, 2, 16, 2, 3, 4];
    const layer = new nn.TransformerDecoderLayer(E, H, { dimFeedforward: FF }).eval();
    // PyTorch's names, in its order, so that its state dicts load.
    expect(layer.namedParameters().map(([k]) => k).filter((k) => !k.startsWith('self_attn.') && !k.startsWith('multihead_attn.'))).toEqual([
      'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias', 'norm3.weight', 'norm3.bias',
    ]);
    expect(layer.namedParameters()[4]![0]).toBe('multihead_attn.in_proj_weight');
    const [ts, ms] = [values(T * N * E, 11), values(S * N * E, 12)];
    const causal = nn.Transformer.generateSquareSubsequentMask(T);
    expect(causal.tolist()).toEqual([[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
    const seqFirst = (a: number[], len: number) => nest(swapFlat(nest(a, len, N, E)), N, len, E);
    const want = decoderLayerRef(params(layer), H, seqFirst(ts, T), seqFirst(ms, S), false, { attn: (_n, _h, l, s2) => (s2 > l ? -Infinity : 0) });
    const [cpu, webgpu] = await onBoth(layer, [kiln.tensor(ts).reshape(T, N, E), kiln.tensor(ms).reshape(S, N, E), causal], (t, m, c) => [layer.call(t, m, { tgtMask: c })]);
    expectClose(cpu[0]!, swapFlat(want), 'decoder layer on the CPU');
    expectClose(webgpu[0]!, swapFlat(want), 'decoder layer on WebGPU');

    const pre = new nn.TransformerDecoderLayer(E, H, { dimFeedforward: FF, normFirst: true, batchFirst: true }).eval();
    const stack = new nn.TransformerDecoder(pre, 2).eval();
    const twice = decoderLayerRef(params(pre), H, decoderLayerRef(params(pre), H, nest(ts, N, T, E), nest(ms, N, S, E), true, { attn: (_n, _h, l, s2) => s2 > l }), nest(ms, N, S, E), true, { attn: (_n, _h, l, s2) => s2 > l });
    expectClose(flat(stack.call(kiln.tensor(ts).reshape(N, T, E), kiln.tensor(ms).reshape(N, S, E), { tgtIsCausal: true })), twice.flat(2), 'decoder stack, causal');

    // nn.Transformer: its weights Xavier-uniform (bound sqrt(6 / (fan in + fan out))), the encoder's memory fed to the decoder.
    const model = new nn.Transformer({ dModel: E, nhead: H, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: FF, batchFirst: true }).eval();
    const w = flat(model.decoder.layers.at(0)!.linear1.weight);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (E + FF)));
    const p = params(model);
    const strip = (prefix: string) => new Map([...p].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    const ones = (m: Map<string, number[]>, name: string) => m.get(`${name}.weight`)!;
    const zerosOf = (m: Map<string, number[]>, name: string) => m.get(`${name}.bias`)!;
    const [src, tgt] = [nest(ms, N, S, E), nest(ts, N, T, E)];
    const memory = encoderLayerRef(strip('encoder.layers.0.'), H, src, false, (v) => Math.max(0, v)).map((r) => layerNormRef(r, ones(strip('encoder.'), 'norm'), zerosOf(strip('encoder.'), 'norm')));
    const out = decoderLayerRef(strip('decoder.layers.0.'), H, tgt, memory, false).map((r) => layerNormRef(r, ones(strip('decoder.'), 'norm'), zerosOf(strip('decoder.'), 'norm')));
    expectClose(flat(model.call(kiln.tensor(ms).reshape(N, S, E), kiln.tensor(ts).reshape(N, T, E))), out.flat(2), 'nn.Transformer');
  });

  it('trains: gradients reach every parameter of an encoder layer, and the layer traces into a graph', async () => {
    kiln.manualSeed(8);
    const layer = new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8, dropout: 0 });
    const x = kiln.tensor(values(2 * 3 * 4, 10)).reshape(3, 2, 4);
    await layer.call(x).pow(2).sum().backward();
    for (const [name, t] of layer.namedParameters()) {
      expect(t.grad?.shape, name).toEqual(t.shape);
      expect(flat(t.grad).some((v) => v !== 0), `${name} has a gradient`).toBe(true);
    }
    const g = kiln.trace(layer, [x]);
    expect(g.outputs.map((v) => v.type.shape)).toEqual([[3, 2, 4]]);
  });
});
