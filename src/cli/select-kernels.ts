import { UsageError } from './errors.js';
import type { KernelListing } from '../codegen/kernel-listing.js';

// `kiln ir MODEL --format wgsl --node NAME`: only the kernels computing one node.

/** The kernels computing node `node` (an output name as `kiln ir` prints it, `%` optional), or all. */
export function selectKernels(kernels: readonly KernelListing[], node: string | undefined): KernelListing[] {
  if (node === undefined) return [...kernels];
  const name = node.replace(/^%/, '');
  const picked = kernels.filter((k) => k.dispatches.some((label) => label.split(/[\s,]+/).includes(`%${name}`)));
  if (!picked.length) {
    const known = kernels.flatMap((k) => k.dispatches.flatMap((l) => l.match(/%[\w.]+/g) ?? []));
    const hint = known.length ? `; the dispatches compute ${[...new Set(known)].slice(0, 12).join(', ')}${known.length > 12 ? ', ...' : ''}` : '';
    throw new UsageError(`--node: no kernel computes %${name}${hint}`);
  }
  return picked;
}
