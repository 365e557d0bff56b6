import type { AnchorRoles } from '../../ir/fusion.js';
import { concatAnchors } from './concat-split.js';
import { convAnchors } from './conv.js';
import { gemmAnchors } from './gemm.js';
import type { Anchor } from './lowering.js';
import { matmulAnchors } from './matmul.js';
import { normAnchors } from './norm.js';
import { reduceAnchors } from './reduce.js';
import { softmaxAnchors } from './softmax.js';

/** Every op whose kernel runs fused work around it, with what it accepts. */
export const ANCHORS: Readonly<Record<string, Anchor>> = {
  ...convAnchors, ...matmulAnchors, ...gemmAnchors, ...softmaxAnchors, ...normAnchors, ...reduceAnchors, ...concatAnchors,
};

/** The fusion roles of `op`'s kernel, or undefined when it is no anchor (for the fuse pass). */
export function anchorRoles(op: string): AnchorRoles | undefined {
  return Object.hasOwn(ANCHORS, op) ? ANCHORS[op]!.roles : undefined;
}
