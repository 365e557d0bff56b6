import { KilnError } from '../../ir/errors.js';
import type { Collectives } from './collectives.js';

// The default group of this thread, as torch.distributed's default process group: set for a
// worker started by `spawn` before its `main` runs, and read by DistributedSampler and
// DistributedDataParallel when they are not given a group or rank.

let current: Collectives | undefined;

/** Makes `group` this thread's default group (undefined clears it). */
export function setDefaultGroup(group: Collectives | undefined): void {
  current = group;
}

/** Whether this thread has a default group (it runs in a worker started by `spawn`). */
export function isInitialized(): boolean {
  return current !== undefined;
}

/** This thread's default group; fails outside a worker started by `spawn`. */
export function defaultGroup(): Collectives {
  if (!current) {
    throw new KilnError(
      'Default process group has not been initialized: run this in a worker started by kiln.distributed.spawn, ' +
      'or pass a group (and rank and numReplicas) explicitly',
    );
  }
  return current;
}

/** This thread's rank in the default group. */
export function getRank(): number {
  return defaultGroup().rank;
}

/** The number of ranks in the default group. */
export function getWorldSize(): number {
  return defaultGroup().worldSize;
}
