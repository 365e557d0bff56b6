import { expect } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { printGraph } from '../../src/ir/printer.js';
import { verify } from '../../src/ir/verify.js';
import { runPasses } from '../../src/passes/manager.js';
import type { Pass, PassContext } from '../../src/passes/pass.js';
import { passContext } from '../../src/compiler.js';

/** Strips the common indentation of a template literal so IR can be written inline. */
export function ir(text: string): string {
  const lines = text.replace(/^\n/, '').replace(/\n\s*$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n') + '\n';
}

/** Parses `before`, runs one pass (verifying), and compares the printed result with `expected`. */
export function expectPass(pass: Pass, before: string, expected: string, ctx: Partial<PassContext> = {}): void {
  const g = parseGraph(ir(before));
  verify(g);
  const { graph } = runPasses(g, [pass], { ...passContext(), ...ctx }, { verifyEach: true });
  expect(printGraph(graph)).toBe(ir(expected));
}
