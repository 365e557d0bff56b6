import { spawn } from 'node:child_process';
import { UsageError } from './errors.js';
import { fileURLToPath } from 'node:url';
import { BENCH_ARGS, BENCH_USAGE, benchOptionsFrom } from '../../bench/options.js';

// The runner `npm run bench` starts, built next to the CLI in dist/.
const RUNNER = fileURLToPath(new URL('../../bench/main.js', import.meta.url));

/** The option values back as arguments for the runner. */
function toArgs(values: Record<string, unknown>): string[] {
  const args: string[] = [];
  for (const name of Object.keys(BENCH_ARGS)) {
    const v = values[name];
    if (v === true) args.push(`--${name}`);
    else if (typeof v === 'string') args.push(`--${name}`, v);
  }
  return args;
}

export const benchCommand = {
  summary: 'benchmark kiln against onnxruntime-web, TensorFlow.js and onnxruntime-node',
  usage: BENCH_USAGE.replace('Usage: npm run bench -- [options]    (or: kiln bench [options])', 'Usage: kiln bench [options]    (or: npm run bench -- [options])'),
  options: BENCH_ARGS,
  async run(positionals: string[], values: Record<string, unknown>): Promise<number> {
    if (positionals.length) throw new UsageError(`kiln bench takes no positional arguments, got '${positionals.join(' ')}'`);
    try {
      benchOptionsFrom(values);
    } catch (e) {
      throw new UsageError(`${(e as Error).message}`);
    }
    // The same runner as `npm run bench`, in its own process: it starts one child per system.
    const child = spawn(process.execPath, [RUNNER, ...toArgs(values)], { stdio: 'inherit' });
    return new Promise((done, fail) => {
      child.on('error', fail);
      child.on('close', (code, signal) => done(signal ? 1 : code ?? 1));
    });
  },
};
