import { opTable } from '../../ir/ops/index.js';
import type { GradRule } from './grad-context.js';
import { coreGradRules } from './grad-rules.js';
import { indexGradRules } from './grad-rules-index.js';
import { mathGradRules } from './grad-rules-math.js';
import { nnGradRules } from './grad-rules-nn.js';
import { normGradRules } from './grad-rules-norm.js';
import { reduceGradRules } from './grad-rules-reduce.js';
import { shapeGradRules } from './grad-rules-shape.js';

/** Every op's gradient rule: one table per family file. */
export const gradRules = opTable<GradRule>('gradient rule', [coreGradRules, mathGradRules, reduceGradRules, normGradRules, shapeGradRules, indexGradRules, nnGradRules]);

/** Whether autodiff can differentiate through the op (the capability matrix asks). */
export function hasGradRule(op: string): boolean {
  return Object.hasOwn(gradRules, op);
}
