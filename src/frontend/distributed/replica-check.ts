import { KilnError } from '../../ir/errors.js';
import type { Tensor } from '../torch/tensor.js';
import type { Collectives } from './collectives.js';

// The check that data-parallel replicas have not drifted apart: rank 0's parameters are
// broadcast, every rank measures how far its own are from them, and the measurements are
// gathered (a sum of arrays in which each rank fills only its row), so that every rank reaches
// the same verdict and fails with the same message.

/** Raised when a replica's parameters differ from rank 0's. */
export class ReplicaDriftError extends KilnError {
  override name = 'ReplicaDriftError';
}

export async function checkReplicasInSync(params: readonly [string, Tensor][], group: Collectives, atol: number): Promise<void> {
  const values = await Promise.all(params.map(async ([, t]) => Float32Array.from((await (await t.to('cpu')).float()).data.data as Float32Array)));
  const mine = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of values) { mine.set(v, at); at += v.length; }
  const reference = mine.slice();
  await group.broadcast(reference, 0);
  // Row r holds rank r's largest difference per parameter (Infinity where one value is NaN and the other is not).
  const report = new Float32Array(group.worldSize * params.length);
  at = 0;
  values.forEach((v, p) => {
    let worst = 0;
    for (let i = 0; i < v.length; i++) {
      const a = mine[at + i]!;
      const b = reference[at + i]!;
      const d = Number.isNaN(a) || Number.isNaN(b) ? (Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity) : Math.abs(a - b);
      if (d > worst) worst = d;
    }
    report[group.rank * params.length + p] = worst;
    at += v.length;
  });
  await group.allReduce(report, 'sum');
  for (let p = 0; p < params.length; p++) {
    const drifted = Array.from({ length: group.worldSize }, (_, r) => r).filter((r) => report[r * params.length + p]! > atol);
    if (!drifted.length) continue;
    const worst = Math.max(...drifted.map((r) => report[r * params.length + p]!));
    throw new ReplicaDriftError(
      `replicas have drifted apart: parameter '${params[p]![0]}' on rank(s) ${drifted.join(', ')} differs from rank 0's ` +
      `by up to ${worst} (tolerance ${atol}); replicas must start from the same parameters and take the same averaged ` +
      'gradients (was a parameter changed on one rank only, or a step taken without reduceGradients?)',
    );
  }
}
