import { expect } from 'vitest';
import { analyzePerformance, detectRaces } from 'wgsl_reflect/wgsl_reflect.module.js';
import { fixedDispatch, type EmittedKernel } from '../../src/codegen/kernels/kernel.js';
import type { Node } from '../../src/ir/graph.js';
import { numel } from '../../src/ir/types.js';

/**
 * Runs a kernel of one node through wgsl_reflect's interpreter over its whole (small) grid, and
 * its performance lints: no two invocations may write the same output element (register blocks
 * that overlap), barriers must order workgroup memory, and no lint may be of high severity.
 */
export function expectRaceFree(node: Node, k: EmittedKernel): void {
  const buffers: Record<number, ArrayBufferView> = {};
  [...node.inputs, ...node.outputs].forEach((v, i) => { buffers[i] = new Float32Array(numel(v.type.shape)); });
  buffers[node.inputs.length + node.outputs.length] = new Uint32Array(fixedDispatch(k).uniforms);
  const { races, errors } = detectRaces(k.wgsl, 'main', [...fixedDispatch(k).workgroups], { 0: buffers });
  expect(errors).toEqual([]);
  expect(races.map((r) => r.message)).toEqual([]);
  const high = analyzePerformance(k.wgsl).findings.filter((f) => f.severity === 'high');
  expect(high.map((f) => `${f.line}: ${f.message}`)).toEqual([]);
}
