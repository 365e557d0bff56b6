import type { EmittedKernel } from './kernel.js';
import { dNumel, type Dim } from '../../ir/size-expr.js';
import { KernelModule, type Source } from '../kernel-module.js';

/** grid_sample: X [N, C, D1..Dr] sampled at grid [N, O1..Or, r] (x first) into [N, C, O1..Or]. */
export interface GridSampleKernelSpec {
  readonly name: string;
  readonly x: readonly Dim[];
  readonly grid: readonly Dim[];
  readonly mode: 'nearest' | 'linear' | 'cubic';
  readonly padding: 'zeros' | 'border' | 'reflection';
  readonly alignCorners: boolean;
  readonly sources: { readonly x: Source; readonly grid: Source; readonly out: Source };
}

const WG = 64;

/** The taps of one sample along one axis: up to four input indices (-1: reads zero) and weights. */
const TAPS_STRUCT = 'struct KilnTaps { idx: array<i32, 4>, w: array<f32, 4>, n: u32 }';

/** Folds x into [lo, hi] by reflecting at the nearer border until it lands inside (the CPU reference's reflect). */
const REFLECT_FN = [
  'fn kiln_gs_reflect(x: f32, lo: f32, hi: f32) -> f32 {',
  '  let range = hi - lo;',
  '  if (x < lo) {',
  '    let dx = lo - x;',
  '    let k = trunc(dx / range);',
  '    let r = dx - k * range;',
  '    return select(hi - r, lo + r, k % 2.0 == 0.0);',
  '  }',
  '  if (x > hi) {',
  '    let dx = x - hi;',
  '    let k = trunc(dx / range);',
  '    let r = dx - k * range;',
  '    return select(lo + r, hi - r, k % 2.0 == 0.0);',
  '  }',
  '  return x;',
  '}',
].join('\n');

/**
 * The taps function for one mode, padding and alignment, as the CPU reference computes them:
 * denormalise, round half to even (nearest), fold a coordinate outside (border: clamp;
 * reflection: reflect; cubic folds its taps only), then resolve each neighbour's index.
 */
function tapsFn(spec: GridSampleKernelSpec): string {
  const { mode, padding, alignCorners: align } = spec;
  const resolve = padding === 'zeros'
    ? 'select(-1, i, i >= 0 && i < size)'
    : padding === 'border' ? 'clamp(i, 0, size - 1)' : 'i32(trunc(kiln_gs_reflect(f32(i), lo, hi)))';
  const lines = [
    'fn kiln_gs_resolve(i: i32, size: i32, lo: f32, hi: f32) -> i32 {',
    `  return ${resolve};`,
    '}',
    'fn kiln_gs_taps(g: f32, size: i32) -> KilnTaps {',
    '  let s = f32(size);',
    align ? '  let lo = 0.0; let hi = s - 1.0;' : '  let lo = -0.5; let hi = s - 0.5;',
    align ? '  var x = (g + 1.0) / 2.0 * (s - 1.0);' : '  var x = ((g + 1.0) * s - 1.0) / 2.0;',
    // WGSL's round() rounds half to even, as the reference's nearest does.
    ...(mode === 'nearest' ? ['  x = round(x);'] : []),
    ...(mode !== 'cubic' && padding === 'border' ? ['  if (x < lo || x > hi) { x = clamp(x, 0.0, s - 1.0); }'] : []),
    ...(mode !== 'cubic' && padding === 'reflection' ? ['  if (x < lo || x > hi) { x = kiln_gs_reflect(x, lo, hi); }'] : []),
    '  var t: KilnTaps;',
  ];
  if (mode === 'nearest') {
    lines.push('  t.n = 1u;', '  t.idx[0] = kiln_gs_resolve(i32(trunc(x)), size, lo, hi);', '  t.w[0] = 1.0;');
  } else if (mode === 'linear') {
    lines.push(
      '  let x0 = floor(x);', '  let f = x - x0;', '  t.n = 2u;',
      '  t.idx[0] = kiln_gs_resolve(i32(x0), size, lo, hi);', '  t.idx[1] = kiln_gs_resolve(i32(x0) + 1, size, lo, hi);',
      '  t.w[0] = 1.0 - f;', '  t.w[1] = f;',
    );
  } else {
    // Keys' cubic convolution (a = -0.75) of the four neighbours.
    lines.push(
      '  let x0 = floor(x);', '  let f = x - x0;', '  t.n = 4u;',
      '  let a = -0.75;',
      '  for (var k = 0; k < 4; k++) { t.idx[k] = kiln_gs_resolve(i32(x0) - 1 + k, size, lo, hi); }',
      '  let d0 = f + 1.0; let d3 = 2.0 - f; let d1 = f; let d2 = 1.0 - f;',
      '  t.w[0] = ((a * d0 - 5.0 * a) * d0 + 8.0 * a) * d0 - 4.0 * a;',
      '  t.w[1] = ((a + 2.0) * d1 - (a + 3.0)) * d1 * d1 + 1.0;',
      '  t.w[2] = ((a + 2.0) * d2 - (a + 3.0)) * d2 * d2 + 1.0;',
      '  t.w[3] = ((a * d3 - 5.0 * a) * d3 + 8.0 * a) * d3 - 4.0 * a;',
    );
  }
  lines.push('  return t;', '}');
  return lines.join('\n');
}

/**
 * Emits grid_sample, an invocation per output element: the taps along each spatial axis from
 * the grid's coordinate for it, then the weighted sum over every combination of one tap per
 * axis (a tap outside reads zero).
 */
export function emitGridSample(spec: GridSampleKernelSpec): EmittedKernel {
  const r = spec.x.length - 2;
  const dims = spec.x.slice(2);
  const n = dNumel([spec.x[0]!, spec.x[1]!, ...spec.grid.slice(1, r + 1)]);
  const m = new KernelModule();
  m.uniforms.scalar('n', n)
    .scalar('c', spec.x[1]!).scalar('points', dNumel(spec.grid.slice(1, r + 1))).scalar('plane', dNumel(dims));
  dims.forEach((d, k) => m.uniforms.scalar(`d${k}`, d).scalar(`s${k}`, dNumel(dims.slice(k + 1))));
  m.read('x', 'f32', spec.sources.x);
  m.read('grid', 'f32', spec.sources.grid);
  m.write('out', 'f32', spec.sources.out);
  m.declare(TAPS_STRUCT, REFLECT_FN, tapsFn(spec));
  const body = [
    '  let p = i % u.points;',
    '  let bc = i / u.points;',
    '  let b = bc / u.c;',
    `  let g = (b * u.points + p) * ${r}u;`,
    // The grid lists x (the innermost axis) first: axis k takes grid component r - 1 - k.
    ...dims.map((_, k) => `  let t${k} = kiln_gs_taps(grid[g + ${r - 1 - k}u], i32(u.d${k}));`),
    '  let base = bc * u.plane;',
    '  var sum = 0.0;',
  ];
  let indent = '  ';
  dims.forEach((_, k) => {
    body.push(`${indent}for (var a${k} = 0u; a${k} < t${k}.n; a${k}++) {`);
    indent += '  ';
  });
  const idx = dims.map((_, k) => `t${k}.idx[a${k}]`);
  body.push(
    `${indent}if (${idx.map((e) => `${e} >= 0`).join(' && ')}) {`,
    `${indent}  sum += ${dims.map((_, k) => `t${k}.w[a${k}]`).join(' * ')} * x[base + ${idx.map((e, k) => `u32(${e}) * u.s${k}`).join(' + ')}];`,
    `${indent}}`,
  );
  dims.forEach(() => {
    indent = indent.slice(2);
    body.push(`${indent}}`);
  });
  body.push('  out[i] = sum;');
  return m.flat(spec.name, WG, 'u.n', n, body);
}
