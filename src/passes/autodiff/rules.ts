import { opTable } from '../../ir/ops/index.js';
import type { GradRule } from './grad-context.js';
import { coreGradRules } from './grad-rules.js';
import { nnGradRules } from './grad-rules-nn.js';

/** Every op's gradient rule: one table per family file. */
export const gradRules = opTable<GradRule>('gradient rule', [coreGradRules, nnGradRules]);

/** Whether autodiff can differentiate through the op (the capability matrix asks). */
export function hasGradRule(op: string): boolean {
  return Object.hasOwn(gradRules, op);
}
