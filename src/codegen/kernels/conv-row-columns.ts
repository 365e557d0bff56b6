import type { ConvKernelGeometry } from './conv-common.js';

/** The window along a row, as a row kernel (a conv's or a pool's) compiles it in. */
export type RowWindow = Pick<ConvKernelGeometry, 'kernelW' | 'strideW' | 'dilationW' | 'padLeft'>;

// How a row kernel (conv-rows.ts, conv-depthwise-rows.ts, pool-rows.ts) reads the input columns a
// tap row needs: each column once, as `v<d>` for offset d from the first output column's window
// start, padding reading zero. One element a load, or, where x binds as vec4s (rowVec4Io), the
// aligned quads that hold them: on lavapipe a load costs about the same per lane whatever its
// width, so a 5-tap row of 8 outputs takes 4 loads instead of 12 (PP-OCR cls's 5x5 depthwise layer
// at 200x2x96: 0.36 -> 0.25 ms with its stores vectorized too).

/**
 * The input columns, relative to the first output column's window start, that `pixels` adjacent
 * output columns read over a window row of `kernelW` taps, output column p at tap kw reading
 * `offset(p, kw)`: each once, in order.
 */
export function windowOffsets(pixels: number, kernelW: number, offset: (p: number, kw: number) => number): number[] {
  return [...new Set(Array.from({ length: pixels }, (_, p) => Array.from({ length: kernelW }, (_, kw) => offset(p, kw))).flat())].sort((a, b) => a - b);
}

/**
 * The loads a tap row of `pixels` adjacent output columns takes (from a multiple of `pixels`):
 * the input columns it spans, or, read four at a time (`vec4`), the quads that hold them.
 */
export function rowLoads(g: RowWindow, pixels: number, vec4: boolean): number {
  const span = (pixels - 1) * g.strideW + (g.kernelW - 1) * g.dilationW + 1;
  return vec4 ? Math.floor((span - 1 - g.padLeft) / 4) - Math.floor(-g.padLeft / 4) + 1 : span;
}

/** Set-up lines (once an invocation, after `ow0` and `W`) and the loads of row `xr`'s columns. */
export interface RowColumns {
  readonly setup: readonly string[];
  /**
   * Lines defining `v<d>` (f32) for every offset, from x's row starting at element `xr`, each value
   * times `scale`, padding reading `pad` (an f32 expression; zero by default).
   */
  readonly load: (indent: string, scale: string, pad?: string) => string[];
}

/**
 * What the generated lines call things: the prefix of every name they declare (the values are
 * `<prefix>v<d>`), the row's length (an i32) and the row's first element. A kernel reading two
 * inputs' rows (a depthwise conv computed in front, conv-depthwise-prologue.ts) names one apart.
 */
export interface RowColumnNames {
  readonly prefix: string;
  readonly width: string;
  readonly row: string;
}

const PLAIN_NAMES: RowColumnNames = { prefix: '', width: 'W', row: 'xr' };

/** The columns at `offsets` of a row, loaded one element (`vec4` false) or four at a time. */
export function rowColumns(g: RowWindow, offsets: readonly number[], vec4: boolean, names = PLAIN_NAMES): RowColumns {
  const { prefix: n, width: W, row: xr } = names;
  if (!vec4) {
    const setup = [`  let ${n}iw0 = i32(ow0 * ${g.strideW}u) - ${g.padLeft};`];
    // Whether each column is inside the row (padding reads zero), and its clamped index.
    for (const d of offsets) setup.push(`  let ${n}in${d} = ${n}iw0 + ${d} >= 0 && ${n}iw0 + ${d} < ${W};`, `  let ${n}col${d} = u32(clamp(${n}iw0 + ${d}, 0, ${W} - 1));`);
    return { setup, load: (ind, scale, pad = '0.0') => offsets.map((d) => `${ind}let ${n}v${d} = select(${pad}, f32(x[${xr} + ${n}col${d}])${scale}, ${n}in${d});`) };
  }
  // Rows a multiple of 4 long and ow0 a multiple of 4: offset d is column ow0 * sw + d - padLeft,
  // lane (d - padLeft) mod 4 of quad ow0 * sw / 4 + floor((d - padLeft) / 4), and a quad is all in
  // the row or all padding.
  const quad = (d: number) => Math.floor((d - g.padLeft) / 4);
  const name = (k: number) => (k < 0 ? `m${-k}` : `${k}`);
  const quads = [...new Set(offsets.map(quad))].sort((a, b) => a - b);
  const setup = [`  let ${n}qw0 = i32(ow0 * ${g.strideW}u / 4u);`, `  let ${n}Wq = ${W} / 4;`];
  for (const k of quads) setup.push(`  let ${n}inq${name(k)} = ${n}qw0 + ${k} >= 0 && ${n}qw0 + ${k} < ${n}Wq;`, `  let ${n}colq${name(k)} = u32(clamp(${n}qw0 + ${k}, 0, ${n}Wq - 1));`);
  return {
    setup,
    load: (ind, scale, pad = '0.0') => [
      ...quads.map((k) => `${ind}let ${n}xq${name(k)} = select(vec4<f32>(${pad}), vec4<f32>(x[${xr} / 4u + ${n}colq${name(k)}])${scale}, ${n}inq${name(k)});`),
      ...offsets.map((d) => `${ind}let ${n}v${d} = ${n}xq${name(quad(d))}[${d - g.padLeft - 4 * quad(d)}];`),
    ],
  };
}
