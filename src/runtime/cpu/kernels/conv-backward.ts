import { conv2dGeometry } from '../../../ir/ops/conv.js';
import { hostValues, storeValues } from './values.js';
import { alloc, type CpuKernel } from './kernel.js';

// Reference weight gradient of conv2d, as a scatter over output-gradient elements (the GPU
// kernel gathers per weight element instead, so the two formulations check each other).

const conv2dBackwardWeight: CpuKernel = (node, [xt, dyt]) => {
  const w = node.output.type.shape;
  const g = conv2dGeometry(xt!.shape, w, node.attrs);
  const x = hostValues(xt!);
  const dy = hostValues(dyt!);
  const dw = new Float64Array(w[0]! * w[1]! * w[2]! * w[3]!);
  for (let n = 0; n < g.batch; n++) {
    for (let o = 0; o < g.outChannels; o++) {
      const c0 = Math.floor(o / g.outPerGroup) * g.inPerGroup;
      for (let oh = 0; oh < g.outH; oh++) {
        for (let ow = 0; ow < g.outW; ow++) {
          const d = dy[((n * g.outChannels + o) * g.outH + oh) * g.outW + ow]!;
          if (d === 0) continue;
          for (let ci = 0; ci < g.inPerGroup; ci++) {
            for (let kh = 0; kh < g.kernelH; kh++) {
              const ih = oh * g.strideH - g.padTop + kh * g.dilationH;
              if (ih < 0 || ih >= g.inH) continue;
              for (let kw = 0; kw < g.kernelW; kw++) {
                const iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
                if (iw < 0 || iw >= g.inW) continue;
                dw[((o * g.inPerGroup + ci) * g.kernelH + kh) * g.kernelW + kw]! += d * x[((n * g.inChannels + c0 + ci) * g.inH + ih) * g.inW + iw]!;
              }
            }
          }
        }
      }
    }
  }
  return [storeValues(alloc(node.output.type), dw)];
};

export const convBackwardKernels: Record<string, CpuKernel> = { conv2d_backward_weight: conv2dBackwardWeight };
