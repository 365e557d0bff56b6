import { describe, expect, it } from 'vitest';
import {
  dAdd, dCeilDiv, dExactDiv, dFloorDiv, dimRange, dimsEqual, dimText, dMul, dSub, evalDim, parseDim, parseSizeBound, sizeVar, steppedVar, type Dim,
} from '../../src/ir/size-expr.js';

const N = sizeVar('N', 1, 32);
const W = sizeVar('W', 1, 1280);
const vars = new Map([['N', { name: 'N', min: 1, max: 32 }], ['W', { name: 'W', min: 1, max: 1280 }]]);

/** Checks `d` against `f` at every (N, W) of a grid (the definition of the expression's value). */
function agrees(d: Dim, f: (n: number, w: number) => number) {
  for (const n of [1, 2, 7, 32]) for (let w = 1; w <= 1280; w += 37) expect(evalDim(d, { N: n, W: w })).toBe(f(n, w));
}

describe('size expressions', () => {
  it('keep a normal form: equal sizes print equally whatever order they were built in', () => {
    expect(dimText(dMul(N, W, 3))).toBe(dimText(dMul(3, W, N)));
    expect(dimsEqual(dAdd(W, N, 2), dAdd(2, dAdd(N, W)))).toBe(true);
    expect(dSub(dAdd(W, 5), W)).toBe(5);
    expect(dMul(W, 0)).toBe(0);
    expect(dimsEqual(W, N)).toBe(false);
  });

  it('divide strided windows with floor and ceiling, folding what divides', () => {
    // A 3-wide window, stride 2, padding 1: floor((W + 2 - 3) / 2) + 1.
    const out = dAdd(dFloorDiv(dAdd(W, -1), 2), 1);
    agrees(out, (_, w) => Math.floor((w - 1) / 2) + 1);
    expect(dFloorDiv(dMul(4, W), 2)).toEqual(dMul(2, W));
    expect(dimText(dFloorDiv(dAdd(dMul(2, W), 1), 2))).toBe('W');
    agrees(dCeilDiv(W, 4), (_, w) => Math.ceil(w / 4));
    agrees(dFloorDiv(dFloorDiv(W, 2), 2), (_, w) => Math.floor(Math.floor(w / 2) / 2));
  });

  it('divide exactly only where it can show the division is exact', () => {
    expect(dimText(dExactDiv(dMul(N, W, 144), 48)!)).toBe('3*N*W');
    expect(dimText(dExactDiv(dMul(N, W, 144), dMul(W, 12))!)).toBe('12*N');
    expect(dExactDiv(dMul(N, 3), 2)).toBeUndefined();
    expect(dExactDiv(dAdd(N, W), N)).toBeUndefined();
    expect(dExactDiv(12, 5)).toBeUndefined();
  });

  it('print text that parses back to the same size', () => {
    const ds: Dim[] = [dMul(N, W, 3), dAdd(dFloorDiv(dAdd(W, -1), 2), 1), dSub(W, 2), dCeilDiv(dMul(N, W), 8), 7];
    for (const d of ds) expect(dimText(parseDim(dimText(d), vars))).toBe(dimText(d));
    expect(dimText(parseDim('N * (W + 1)', vars))).toBe(dimText(dAdd(dMul(N, W), N)));
    expect(() => parseDim('W / 2', vars)).toThrow(/not a size expression/);
    expect(() => parseDim('2W', vars)).toThrow(/not a size expression/);
    expect(() => parseDim('H+1', vars)).toThrow(/size H in 'H\+1' has no declared range/);
  });

  it('bound a size over its variables ranges', () => {
    const out = dAdd(dFloorDiv(dAdd(W, -1), 2), 1);
    expect(typeof out === 'number' ? [out, out] : out.range()).toEqual([1, 640]);
    const d = dSub(dMul(N, W), N);
    expect(typeof d === 'number' ? [] : d.range()).toEqual([1 - 32, 32 * 1280 - 1]);
  });

  it('read a size with its range, or an extent stepped by a multiple whose halvings stay exact', () => {
    expect(dimText(parseSizeBound('8<=W<=1280'))).toBe('W');
    expect(dimRange(parseSizeBound('8<=W<=1280'))).toEqual([8, 1280]);
    const h = parseSizeBound('32*H<=960');
    expect(dimText(h)).toBe('32*H');
    expect(steppedVar(h)).toEqual({ v: { name: 'H', min: 1, max: 30 }, step: 32 });
    expect(dimRange(parseSizeBound('100<=32*H<=960'))).toEqual([128, 960]);
    // Five stride-2 windows (kernel 3, padding 1) halve 32*H down to H exactly; an upsampling doubles it back.
    let d: Dim = h;
    for (let k = 0; k < 5; k++) d = dAdd(dFloorDiv(dAdd(d, 2 - 3), 2), 1);
    expect(dimText(d)).toBe('H');
    expect(dimText(dMul(d, 2))).toBe('2*H');
    expect(steppedVar(dAdd(h, 1))).toBeUndefined();
    expect(() => parseSizeBound('40<=32*H<=60')).toThrow('no multiple of 32 lies in 40..60');
    expect(() => parseSizeBound('H%32<=960')).toThrow('STEP*NAME<=MAX for a multiple of STEP (e.g. 32*H<=960)');
  });
});

describe('reshape over sizes that vary', () => {
  it('copies an extent that is a sum (a cache of P + 1) in place while inferring another', async () => {
    const { Graph } = await import('../../src/ir/graph.js');
    const P = sizeVar('P', 1, 63);
    const S = sizeVar('S', 1, 8);
    const g = new Graph('g');
    // Scores [B, Hkv, G*S, P+S] of grouped heads, back to [B, Hq, S, P+S].
    const x = g.addInput('x', { dtype: 'f32', shape: [1, 2, 16, 71], device: 'cpu', dims: [1, 2, dMul(2, S), dAdd(P, S)] });
    const y = g.addNode('reshape', [x], { shape: [1, 4, -1, 0], copy: [3] }).output;
    expect(y.type.dims?.map(dimText)).toEqual(['1', '4', 'S', 'P+S']);
    const single = g.addNode('reshape', [g.addInput('c', { dtype: 'f32', shape: [1, 2, 2, 64], device: 'cpu', dims: [1, 2, 2, dAdd(P, 1)] })], { shape: [1, 4, 1, 0], copy: [3] }).output;
    expect(single.type.dims?.map(dimText)).toEqual(['1', '4', '1', 'P+1']);
  });
});
