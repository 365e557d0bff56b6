// A BERT-base-sized encoder: 12 pre-norm transformer blocks (examples/transformer's EncoderBlock),
// model width 768, 12 heads, MLP 3072, on one sequence of 128 tokens (about 85 M weights, 22
// GFLOP a run). Built when its workload runs: its weights take a few seconds to draw.
import { EncoderBlock } from '../../examples/transformer/block.js';
import { Sequential } from '../../src/frontend/torch/nn.js';
import { manualSeed, randn } from '../../src/frontend/torch/index.js';
import type { Module } from '../../src/frontend/torch/module.js';
import type { Tensor } from '../../src/frontend/torch/tensor.js';

export const ENCODER = { layers: 12, dim: 768, heads: 12, mlpRatio: 4, seq: 128 } as const;

/** Multiply-adds x2 of one run: per layer the four projections and the MLP, plus QK^T and PV. */
export function encoderFlops(c: { layers: number; dim: number; mlpRatio: number; seq: number } = ENCODER): number {
  const { layers, dim: d, mlpRatio, seq: t } = c;
  const projections = t * d * (4 * d + 2 * mlpRatio * d);
  const attention = 2 * t * t * d;
  return 2 * layers * (projections + attention);
}

export function encoderStack(): { model: Module; exampleInputs: Tensor[] } {
  manualSeed(7);
  const blocks = Array.from({ length: ENCODER.layers }, () => new EncoderBlock(ENCODER.dim, ENCODER.heads, ENCODER.mlpRatio));
  return { model: new Sequential(...blocks), exampleInputs: [randn([1, ENCODER.seq, ENCODER.dim])] };
}
