import type { Node } from '../../ir/graph.js';
import type { EmittedKernel } from '../kernels/kernel.js';

/**
 * Lowers one node to a kernel whose bindings are the node's inputs in order, then its outputs,
 * then the uniform block.
 */
export type Lowering = (node: Node) => EmittedKernel;
