import { conv2dGeometry, convTranspose2dGeometry } from '../../../ir/ops/conv.js';
import { hostValues, storeValues } from './values.js';
import { alloc, type CpuKernel } from './kernel.js';

// Reference convolutions, written as plainly as possible because they are the oracle: conv2d
// gathers each output from its window, conv_transpose2d scatters each input into its window
// (a different formulation from the GPU kernel's gather, so the two check each other).
// Sums accumulate in double precision.

const conv2d: CpuKernel = (node, [xt, wt, bt]) => {
  const g = conv2dGeometry(xt!.shape, wt!.shape, node.attrs);
  const x = hostValues(xt!);
  const w = hostValues(wt!);
  const bias = bt ? hostValues(bt) : undefined;
  const out = new Float64Array(g.batch * g.outChannels * g.outH * g.outW);
  let i = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let o = 0; o < g.outChannels; o++) {
      const c0 = Math.floor(o / g.outPerGroup) * g.inPerGroup;
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++) {
          let acc = bias ? bias[o]! : 0;
          for (let ci = 0; ci < g.inPerGroup; ci++) {
            for (let kh = 0; kh < g.kernelH; kh++) {
              const ih = oh * g.strideH - g.padTop + kh * g.dilationH;
              if (ih < 0 || ih >= g.inH) continue;
              for (let kw = 0; kw < g.kernelW; kw++) {
                const iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
                if (iw < 0 || iw >= g.inW) continue;
                const xv = x[((n * g.inChannels + c0 + ci) * g.inH + ih) * g.inW + iw]!;
                const wv = w[((o * g.inPerGroup + ci) * g.kernelH + kh) * g.kernelW + kw]!;
                acc += xv * wv;
              }
            }
          }
          out[i++] = acc;
        }
      }
    }
  }
  return [storeValues(alloc(node.output.type), out)];
};

const convTranspose2d: CpuKernel = (node, [xt, wt, bt]) => {
  const g = convTranspose2dGeometry(xt!.shape, wt!.shape, node.attrs);
  const x = hostValues(xt!);
  const w = hostValues(wt!);
  const plane = g.outH * g.outW;
  const out = new Float64Array(g.batch * g.outChannels * plane);
  if (bt) {
    const bias = hostValues(bt);
    for (let n = 0; n < g.batch; n++) {
      for (let o = 0; o < g.outChannels; o++) out.fill(bias[o]!, (n * g.outChannels + o) * plane, (n * g.outChannels + o + 1) * plane);
    }
  }
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.inChannels; c++) {
      const o0 = Math.floor(c / g.inPerGroup) * g.outPerGroup;
      for (let ih = 0; ih < g.inH; ih++) {
        for (let iw = 0; iw < g.inW; iw++) {
          const xv = x[((n * g.inChannels + c) * g.inH + ih) * g.inW + iw]!;
          for (let oc = 0; oc < g.outPerGroup; oc++) {
            for (let kh = 0; kh < g.kernelH; kh++) {
              const oh = ih * g.strideH - g.padTop + kh * g.dilationH;
              if (oh < 0 || oh >= g.outH) continue;
              for (let kw = 0; kw < g.kernelW; kw++) {
                const ow = iw * g.strideW - g.padLeft + kw * g.dilationW;
                if (ow < 0 || ow >= g.outW) continue;
                const wv = w[((c * g.outPerGroup + oc) * g.kernelH + kh) * g.kernelW + kw]!;
                out[((n * g.outChannels + o0 + oc) * g.outH + oh) * g.outW + ow]! += xv * wv;
              }
            }
          }
        }
      }
    }
  }
  return [storeValues(alloc(node.output.type), out)];
};

export const convKernels: Record<string, CpuKernel> = { conv2d, conv_transpose2d: convTranspose2d };
