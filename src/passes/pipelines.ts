import { KilnError } from '../ir/errors.js';
import { commonSubexpressionElimination } from './cse.js';
import { deadCodeElimination } from './dce.js';
import { foldConstants } from './fold-constants.js';
import type { Pass } from './pass.js';
import { simplify } from './simplify.js';
import { fuseElementwise } from './fuse.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { placeDevices } from './place-devices.js';
import { fuseSqueezeExcite } from './fuse-squeeze-excite.js';
import { scheduleForMemory } from './schedule.js';

/** Every pass by name, for `--passes=a,b,c` and dumps. */
export const PASSES: ReadonlyMap<string, Pass> = new Map(
  [foldConstants, simplify, commonSubexpressionElimination, foldBatchNorm, deadCodeElimination, placeDevices, fuseSqueezeExcite, fuseElementwise, scheduleForMemory].map((p) => [p.name, p]),
);

/** Named pipelines: -O0 only tidies and places; -O2 (default) canonicalises, places, fuses and orders for memory. */
export const PIPELINES: Readonly<Record<string, readonly string[]>> = {
  O0: ['dce', 'place-devices'],
  O2: ['fold-constants', 'simplify', 'cse', 'fold-batchnorm', 'fold-constants', 'dce', 'place-devices', 'fuse-se', 'fuse', 'dce', 'schedule'],
};

/** Passes of a named pipeline (`O2`) or of a comma-separated list of pass names. */
export function resolvePipeline(spec: string): Pass[] {
  const names = PIPELINES[spec] ?? spec.split(',').map((s) => s.trim()).filter(Boolean);
  return names.map((n) => {
    const p = PASSES.get(n);
    if (!p) throw new KilnError(`unknown pass '${n}' (passes: ${[...PASSES.keys()].join(', ')}; pipelines: ${Object.keys(PIPELINES).join(', ')})`);
    return p;
  });
}
