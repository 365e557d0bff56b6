// Window functions and the mel filter bank: their sizes are parameters, so with sizes known at
// import they are constants, computed here in double precision.
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { kilnDType, makeConst } from '../tensor.js';

/** The output dtype from `output_datatype` (an ONNX element type, default float). */
function outputDType(n: OnnxNode) {
  return kilnDType(n.attrs.int('output_datatype', 1), `the output_datatype of ${n.where}`);
}

/** Generalised cosine windows a0 - a1 cos(2 pi k / N) + a2 cos(4 pi k / N), N = size (periodic) or size - 1. */
const COSINE_WINDOWS: Record<string, readonly [number, number, number]> = {
  HannWindow: [0.5, 0.5, 0],
  HammingWindow: [25 / 46, 21 / 46, 0],
  BlackmanWindow: [0.42, 0.5, 0.08],
};
for (const [op, [a0, a1, a2]] of Object.entries(COSINE_WINDOWS)) {
  defineOnnxOp(op, (n) => {
    const size = n.values(0, 'size')[0]!;
    if (!Number.isInteger(size) || size < 0) n.fail(`size must be a non-negative integer, got ${size}`);
    const periodic = n.attrs.int('periodic', 1) !== 0;
    const period = periodic ? size : size - 1;
    const values = Array.from({ length: size }, (_, k) => {
      const angle = (2 * Math.PI * k) / period;
      return period === 0 ? 1 : a0 - a1 * Math.cos(angle) + a2 * Math.cos(2 * angle);
    });
    return makeConst(`${n.name}:window`, outputDType(n), [size], values);
  });
}

// MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangular filters whose edges are
// num_mel_bins + 2 points equally spaced on the mel scale, snapped to spectrogram bins.
defineOnnxOp('MelWeightMatrix', (n) => {
  const bins = n.values(0, 'num_mel_bins')[0]!;
  const dftLength = n.values(1, 'dft_length')[0]!;
  const rate = n.values(2, 'sample_rate')[0]!;
  const [lower, upper] = [n.values(3, 'lower_edge_hertz')[0]!, n.values(4, 'upper_edge_hertz')[0]!];
  if (!(bins >= 1 && dftLength >= 1 && rate > 0 && lower >= 0 && upper > lower)) {
    n.fail(`needs num_mel_bins, dft_length, sample_rate > 0 and 0 <= lower_edge_hertz < upper_edge_hertz, got ${bins}, ${dftLength}, ${rate}, ${lower}, ${upper}`);
  }
  const spectrum = Math.floor(dftLength / 2) + 1;
  const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const [lo, hi] = [mel(lower), mel(upper)];
  const step = (hi - lo) / (bins + 2);
  const edges = Array.from({ length: bins + 2 }, (_, i) => {
    const hz = 700 * (10 ** ((i * step + lo) / 2595) - 1);
    return Math.floor(((dftLength + 1) * hz) / rate);
  });
  const out = new Array<number>(spectrum * bins).fill(0);
  const set = (j: number, i: number, v: number) => {
    if (j < 0 || j >= spectrum) n.fail(`filter ${i} reaches bin ${j}, past the ${spectrum} spectrogram bins (upper_edge_hertz is above the Nyquist frequency)`);
    out[j * bins + i] = v;
  };
  for (let i = 0; i < bins; i++) {
    const [left, center, right] = [edges[i]!, edges[i + 1]!, edges[i + 2]!];
    if (center === left) set(center, i, 1);
    else for (let j = left; j <= center; j++) set(j, i, (j - left) / (center - left));
    for (let j = center; j < right; j++) set(j, i, (right - j) / (right - center));
  }
  return makeConst(`${n.name}:mel`, outputDType(n), [spectrum, bins], out);
});
