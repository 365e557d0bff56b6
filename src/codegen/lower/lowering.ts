import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';

/**
 * Lowers one node to one kernel, or to several dispatched in order. Storage bindings are the
 * node's inputs in order, then its outputs (or the kernel's explicit `bindings`), then the
 * uniform block.
 */
export type Lowering = (node: Node) => EmittedKernel | EmittedKernel[];
