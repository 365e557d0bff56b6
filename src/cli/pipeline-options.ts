import { mkdirSync, writeFileSync } from 'node:fs';
import { UsageError } from './errors.js';
import { join } from 'node:path';
import type { CompileOptions } from '../compiler.js';
import type { DumpSink } from '../passes/manager.js';
import { PASSES, PIPELINES, resolvePipeline } from '../passes/pipelines.js';
import type { Pass } from '../passes/pass.js';

/** Options every compiling command shares (parseArgs form). */
export const pipelineArgs = {
  'opt-level': { type: 'string' as const, short: 'O' },
  passes: { type: 'string' as const },
  'print-ir-after': { type: 'string' as const, multiple: true },
  'print-ir-before': { type: 'string' as const, multiple: true },
  'print-ir-after-all': { type: 'boolean' as const },
  'ir-dump-dir': { type: 'string' as const },
  'max-binding-bytes': { type: 'string' as const },
  weights: { type: 'string' as const },
};

export const pipelineUsage = [
  'Pipeline options:',
  `  -O0 | -O2                    optimisation level (default -O2); pipelines: ${Object.keys(PIPELINES).join(', ')}`,
  '  --passes A,B,...             run exactly these passes instead',
  '  --print-ir-after PASS        print the IR after PASS (repeatable)',
  '  --print-ir-before PASS       print the IR before PASS (repeatable)',
  '  --print-ir-after-all[=DIR]   print the IR after every pass, to stdout or one file per pass in DIR',
  '  --max-binding-bytes N        largest storage binding of the target devices (bytes, or with KiB, MiB, GiB);',
  '                               larger weights are split (default 128MiB, what WebGPU grants by default)',
  '  --weights float|int8|int4    how constant weights of matmul, gemm and conv2d are stored (default float);',
  '                               int8 keeps one f32 scale per output channel and dequantizes in the kernel;',
  '                               int4 stores matmul and gemm weights as 4-bit codes in blocks of 32 rows,',
  '                               a scale and zero point each (as ONNX Runtime\'s MatMulNBits), conv2d\'s as int8',
  `  passes: ${[...PASSES.keys()].join(', ')}`,
].join('\n');

/** `--print-ir-after-all=DIR` is accepted as a shorthand for `--print-ir-after-all --ir-dump-dir DIR`. */
export function expandDumpDirArg(args: string[]): string[] {
  return args.flatMap((a) => {
    const m = /^--print-ir-after-all=(.+)$/.exec(a);
    return m ? ['--print-ir-after-all', '--ir-dump-dir', m[1]!] : [a];
  });
}

/** CompileOptions from parsed pipeline arguments; dumps go to stderr or into a folder. */
export function compileOptionsFrom(values: Record<string, unknown>): CompileOptions {
  const level = values['opt-level'] as string | undefined;
  if (level !== undefined && !PIPELINES[`O${level}`]) throw new UsageError(`unknown optimisation level -O${level} (use ${Object.keys(PIPELINES).map((p) => `-${p}`).join(' or ')})`);
  if (level !== undefined && values.passes !== undefined) throw new UsageError('give either -O<level> or --passes, not both');
  const pipeline = (values.passes as string | undefined) ?? `O${level ?? '2'}`;
  const dir = values['ir-dump-dir'] as string | undefined;
  let sink: DumpSink = (d) => process.stderr.write(`// ----- IR ${d.when} ${d.pass} (pass ${d.index + 1}) -----\n${d.text}`);
  if (dir) {
    mkdirSync(dir, { recursive: true });
    sink = (d) => writeFileSync(join(dir, `${String(d.index).padStart(2, '0')}-${d.when}-${d.pass}.kir`), d.text);
  }
  const known = (names: unknown) => {
    for (const n of (names as string[] | undefined) ?? []) {
      if (!PASSES.has(n)) throw new UsageError(`unknown pass '${n}' (passes: ${[...PASSES.keys()].join(', ')})`);
    }
    return names as string[] | undefined;
  };
  const maxBinding = values['max-binding-bytes'] === undefined ? undefined : parseBytes('--max-binding-bytes', String(values['max-binding-bytes']));
  const weights = values.weights as string | undefined;
  if (weights !== undefined && weights !== 'float' && weights !== 'int8' && weights !== 'int4') throw new UsageError(`--weights takes float, int8 or int4, got '${weights}'`);
  const after = known(values['print-ir-after']);
  const before = known(values['print-ir-before']);
  return {
    pipeline,
    sink,
    ...(after ? { printAfter: after } : {}),
    ...(before ? { printBefore: before } : {}),
    ...(values['print-ir-after-all'] || dir ? { printAfterAll: true } : {}),
    ...(maxBinding !== undefined ? { maxStorageBindingBytes: maxBinding } : {}),
    ...(weights === 'int8' || weights === 'int4' ? { weights } : {}),
  };
}

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 };

/** A positive byte count: an integer, optionally followed by B, KiB, MiB or GiB. */
export function parseBytes(flag: string, text: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(text.trim());
  const bytes = m ? Number(m[1]) * BYTE_UNITS[m[2] ?? '']! : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 4) throw new UsageError(`${flag} takes a byte count of at least 4 (e.g. 134217728 or 128MiB), got '${text}'`);
  return bytes;
}

/**
 * The passes `opts` runs, once its precision is known; --passes, --print-ir-after and
 * --print-ir-before must name passes in it (lower-fp16 is not, under fp32).
 */
export function checkedPipeline(opts: CompileOptions): Pass[] {
  let passes: Pass[];
  try {
    passes = resolvePipeline(opts.pipeline ?? 'O2', opts);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const listed = opts.pipeline === undefined || opts.pipeline in PIPELINES ? [] : opts.pipeline.split(',').map((s) => s.trim()).filter(Boolean);
  const named: [string, readonly string[] | undefined][] = [['--passes', listed], ['--print-ir-after', opts.printAfter], ['--print-ir-before', opts.printBefore]];
  for (const [flag, names] of named) {
    for (const n of names ?? []) checkInPipeline(flag, n, passes, opts);
  }
  return passes;
}

/** A usage error unless pass `name` is in `passes`, saying so when fp16 would have it (lower-fp16). */
export function checkInPipeline(flag: string, name: string, passes: readonly Pass[], opts: CompileOptions): void {
  if (passes.some((p) => p.name === name)) return;
  const runsWith = (other: CompileOptions) => resolvePipeline(opts.pipeline ?? 'O2', { ...opts, ...other }).some((p) => p.name === name);
  const fp16Only = opts.precision !== 'fp16' && runsWith({ precision: 'fp16' });
  // The kinds of adapter the pass runs for, among those this one is not.
  const kinds: [string, CompileOptions][] = [['a GPU', { adapterClass: 'gpu' }], ['a software adapter', { adapterClass: 'software', adapterFeatures: [] }], ['a software adapter with subgroups', { adapterClass: 'software', adapterFeatures: ['subgroups'] }]];
  const runsFor = kinds.filter(([, k]) => runsWith(k)).map(([what]) => what).filter((what, _, all) => !(what.endsWith('with subgroups') && all.includes('a software adapter')));
  const subgroups = opts.adapterFeatures?.includes('subgroups') ? ' with subgroups' : ' without subgroups';
  const thisOne = opts.adapterClass ? `is ${opts.adapterClass === 'gpu' ? 'a GPU' : `a software one${subgroups}`}` : 'was not found';
  const why = fp16Only ? `: ${name} runs only at precision fp16 (--precision fp16, or auto picking fp16)`
    : runsFor.length ? `: ${name} runs only for ${runsFor.join(' or ')}, and this machine's adapter ${thisOne}` : '';
  throw new UsageError(`${flag}: pass '${name}' is not in the pipeline${why} (${passes.map((p) => p.name).join(', ')})`);
}
