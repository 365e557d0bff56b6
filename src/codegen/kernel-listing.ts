import type { Program } from '../runtime/program.js';

// A program's kernels as WGSL, each under a comment that names it uniquely and lists the
// dispatches (the nodes) it computes: how artifacts store them and `kiln ir --format wgsl` prints them.

export interface KernelListing {
  readonly index: number;
  /** The kernel's name, numbered (`conv2d_add#2`) when another kernel of the program has it too. */
  readonly name: string;
  /** Labels of the dispatches that run it (`conv2d_add -> %y`). */
  readonly dispatches: readonly string[];
  readonly wgsl: string;
}

/** Every kernel with a unique name and the dispatches that run it. */
export function listKernels(program: Program): KernelListing[] {
  const total = new Map<string, number>();
  for (const k of program.kernels) total.set(k.name, (total.get(k.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  return program.kernels.map((k, index) => {
    const nth = (seen.get(k.name) ?? 0) + 1;
    seen.set(k.name, nth);
    const name = total.get(k.name)! > 1 ? `${k.name}#${nth}` : k.name;
    const dispatches = program.dispatches.filter((d) => d.kernel === index).map((d) => d.label);
    return { index, name, dispatches, wgsl: k.wgsl };
  });
}

/** The comment heading a kernel's WGSL: its unique name and the dispatches (nodes) it computes. */
function header(k: KernelListing): string {
  return `// kernel #${k.index} ${k.name}\n// dispatched ${k.dispatches.length}x per run, for: ${k.dispatches.join('; ') || '(none)'}\n`;
}

/** The WGSL of the kernels, each under its header comment. */
export function formatKernels(kernels: readonly KernelListing[]): string {
  return kernels.map((k) => `${header(k)}${k.wgsl.replace(/^\/\/ kernel #[^\n]*\n\/\/ dispatched [^\n]*\n/, '').trimEnd()}\n`).join('\n');
}

/**
 * The program with unique kernel names and each kernel's WGSL under its header comment, as
 * artifacts store it: a kernel file then says what it computes.
 */
export function annotateKernels(program: Program): Program {
  const listing = listKernels(program);
  return { ...program, kernels: program.kernels.map((k, i) => ({ ...k, name: listing[i]!.name, wgsl: `${header(listing[i]!)}${k.wgsl}` })) };
}
