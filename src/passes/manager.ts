import { performance } from 'node:perf_hooks';
import type { Graph } from '../ir/graph.js';
import { printGraph } from '../ir/printer.js';
import { verify } from '../ir/verify.js';
import type { Pass, PassContext } from './pass.js';

/** Where IR dumps go: one call per dump, with the pass and whether it is before or after it. */
export type DumpSink = (dump: { pass: string; when: 'before' | 'after'; index: number; text: string }) => void;

export interface PipelineOptions {
  /** Print the IR after these passes (names). */
  readonly printAfter?: readonly string[];
  /** Print the IR before these passes. */
  readonly printBefore?: readonly string[];
  /** Print the IR after every pass. */
  readonly printAfterAll?: boolean;
  /** Print only when the pass changed the IR (MLIR's print-ir-after-change). */
  readonly onlyOnChange?: boolean;
  /** Run the verifier after every pass (tests do); a failure names the pass. */
  readonly verifyEach?: boolean;
  readonly sink?: DumpSink;
}

export interface PassTiming {
  readonly pass: string;
  readonly ms: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
}

export interface PipelineResult {
  readonly graph: Graph;
  readonly timings: PassTiming[];
}

/** Runs passes in order, dumping and verifying as asked, timing each pass. */
export function runPasses(graph: Graph, passes: readonly Pass[], ctx: PassContext, opts: PipelineOptions = {}): PipelineResult {
  const timings: PassTiming[] = [];
  const wants = (list: readonly string[] | undefined, name: string) => list?.includes(name) ?? false;
  const sink = opts.sink ?? ((d) => process.stdout.write(`// ----- IR ${d.when} ${d.pass} (pass ${d.index + 1}) -----\n${d.text}`));
  let g = graph;
  passes.forEach((pass, index) => {
    const beforeText = wants(opts.printBefore, pass.name) || opts.onlyOnChange ? printGraph(g) : '';
    if (wants(opts.printBefore, pass.name)) sink({ pass: pass.name, when: 'before', index, text: beforeText });
    const nodesBefore = g.nodes.length;
    const t0 = performance.now();
    g = pass.run(g, ctx);
    timings.push({ pass: pass.name, ms: performance.now() - t0, nodesBefore, nodesAfter: g.nodes.length });
    if (opts.verifyEach) {
      try {
        verify(g);
      } catch (e) {
        throw new Error(`pass ${pass.name} produced an invalid graph (reproduce: the IR before it with --passes=${pass.name}): ${(e as Error).message}`);
      }
    }
    if (opts.printAfterAll || wants(opts.printAfter, pass.name)) {
      const text = printGraph(g);
      if (!(opts.onlyOnChange && text === beforeText)) sink({ pass: pass.name, when: 'after', index, text });
    }
  });
  return { graph: g, timings };
}
