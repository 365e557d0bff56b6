import { wgslType } from '../wgsl.js';
import type { KernelModule } from '../kernel-module.js';
import { inputLayout, type ConvKernelSpec } from './conv-common.js';
import { rowColumns, type RowColumns, windowOffsets } from './conv-row-columns.js';
import { declareOutputVec4 } from './epilogue.js';
import { declareWeight } from './weight-load.js';

// A depthwise convolution computed as the 1x1 convolution after it reads its output, for the pair
// kernel (conv-pointwise-pair.ts): in a MobileNet block without a gate, the depthwise conv's
// output is read by the projection alone, so its values for an input channel and the
// invocation's four columns are computed where the projection would load them, and stored (the
// fused node's result, though nothing reads it), one dispatch fewer.

/** The depthwise convolutions the prologue computes: multiplier 1, undilated, at most this many taps. */
export const MAX_DEPTHWISE_TAPS = 25;

/** Why `dw` cannot run in front of the 1x1 convolution `first` as a prologue of `pixels` columns an invocation, or undefined. */
export function depthwisePrologueProblem(dw: ConvKernelSpec, first: ConvKernelSpec): string | undefined {
  const [d, a] = [dw.geometry, first.geometry];
  if (d.groups !== d.inChannels || d.inPerGroup !== 1 || d.outChannels !== d.inChannels) return 'the depthwise conv must take one input channel a group, multiplier 1';
  if (d.dilationH !== 1 || d.dilationW !== 1 || d.kernelH * d.kernelW > MAX_DEPTHWISE_TAPS) return `the depthwise conv must be undilated, of at most ${MAX_DEPTHWISE_TAPS} taps`;
  if (a.kernelH !== 1 || a.kernelW !== 1 || a.strideH !== 1 || a.strideW !== 1 || a.padTop + a.padLeft + a.padBottom + a.padRight !== 0) return 'the conv after it must be 1x1, of stride 1, unpadded';
  if (dw.input || dw.xDType || dw.inputScale) return 'the depthwise conv must read x as stored';
  return undefined;
}

/**
 * Declares the depthwise conv's input `x` (its bindings and uniforms apart from the 1x1 conv's,
 * whose own x is never bound), weights, bias and output, and returns the columns the 1x1 conv's
 * row loop reads: `v0..v3`, the depthwise values for channel `ci`, batch `n`, output row `oh` and
 * columns `ow0..ow0 + 3` (the 1x1 conv's `u.C`, `u.H`, `u.W` are the depthwise output's extents).
 */
export function depthwisePrologue(m: KernelModule, dw: ConvKernelSpec): RowColumns {
  const g = dw.geometry;
  const x = inputLayout(dw);
  m.uniforms.scalar('dxOff', x.offset).scalar('dxsN', x.sN).scalar('dxsC', x.sC).scalar('dxsH', x.sH).scalar('dxH', g.inH).scalar('dxW', g.inW);
  m.read('x', dw.dtype, dw.sources.x);
  const wd = declareWeight(m, 'wd', dw.dtype, dw.sources.w, dw.wInt8);
  if (dw.hasBias) m.read('biasd', dw.dtype, dw.sources.bias!);
  const out = declareOutputVec4(m, dw.epilogue, dw.dtype, dw.sources.out, 'outd', { fn: 'epilogue0', operand: 'd' });
  const pixels = [0, 1, 2, 3];
  const offsets = windowOffsets(4, g.kernelW, (p, kw) => p * g.strideW + kw);
  // The depthwise input's columns, named apart from the 1x1 conv's (`dv<d>` of row `drow`).
  const columns = rowColumns(g, offsets, false, { prefix: 'd', width: 'dW', row: 'drow' });
  const setup = ['  let dW = i32(u.dxW);', ...columns.setup];
  const bias = dw.hasBias ? ' + f32(biasd[ci])' : '';
  const load = (ind: string): string[] => {
    const L = [`${ind}let dxr = u.dxOff + n * u.dxsN + ci * u.dxsC;`, ...pixels.map((p) => `${ind}var dacc${p} = 0.0;`)];
    for (let kh = 0; kh < g.kernelH; kh++) {
      L.push(`${ind}let dih${kh} = i32(oh * ${g.strideH}u + ${kh}u) - ${g.padTop};`, `${ind}if (dih${kh} >= 0 && dih${kh} < i32(u.dxH)) {`);
      L.push(`${ind}  let drow = dxr + u32(dih${kh}) * u.dxsH;`, ...columns.load(`${ind}  `, ''));
      for (let kw = 0; kw < g.kernelW; kw++) {
        L.push(`${ind}  let dw${kw} = ${wd.at(`ci * ${g.kernelH * g.kernelW}u + ${kh * g.kernelW + kw}u`, 'ci')};`);
        L.push(...pixels.map((p) => `${ind}  dacc${p} += dv${p * g.strideW + kw} * dw${kw};`));
      }
      L.push(`${ind}}`);
    }
    // As stored (through its epilogue, in its output's dtype), since that is what the 1x1 conv reads.
    L.push(`${ind}let dbase = ((n * u.C + ci) * u.H + oh) * u.W + ow0;`);
    L.push(...pixels.map((p) => `${ind}let v${p} = f32(${out.value(`dacc${p}${bias}`, `dbase + ${p}u`)});`));
    L.push(`${ind}if (ow0 < u.W) { outd[dbase / 4u] = vec4<${wgslType(dw.epilogue?.outDType ?? dw.dtype)}>(vec4<f32>(${pixels.map((p) => `v${p}`).join(', ')})); }`);
    return L;
  };
  return { setup, load };
}
