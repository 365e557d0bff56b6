import { attrsOf } from '../../../ir/attrs.js';
import { poolGeometry } from '../../../ir/ops/pool.js';
import { maxPoolIndicesAttrs } from '../../../ir/ops/pool-indices.js';
import { alloc, type CpuKernel } from './kernel.js';
import { forEachWindow } from './pool.js';
import { hostValues } from './values.js';

/** The flat index of each window's maximum, chosen exactly as max_pool2d chooses its value. */
const maxPool2dIndices: CpuKernel = (node, [xt]) => {
  const g = poolGeometry(xt!.shape, node.attrs);
  const columnMajor = attrsOf(node, maxPoolIndicesAttrs).column_major;
  const x = hostValues(xt!);
  const plane = g.inH * g.inW;
  const out = alloc(node.output.type);
  let i = 0;
  forEachWindow(g, (taps) => {
    let best = -Infinity;
    let where = -1;
    taps((at) => {
      const v = x[at]!;
      if (v > best || where < 0 || Number.isNaN(v)) { best = v; where = at; }
      return Number.isNaN(best);
    });
    if (columnMajor && where >= 0) {
      const local = where % plane;
      where = where - local + (local % g.inW) * g.inH + Math.floor(local / g.inW);
    }
    out.data[i++] = where;
  });
  return [out];
};

export const poolIndicesKernels: Record<string, CpuKernel> = { max_pool2d_indices: maxPool2dIndices };
