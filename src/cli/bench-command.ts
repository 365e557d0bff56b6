import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// `kiln bench` is a front door to the bench runner (`npm run bench`), built next to the CLI in
// dist/: the runner owns the options and their checks, so the CLI hands it the arguments as
// given and never imports the bench.
const RUNNER = fileURLToPath(new URL('../../bench/main.js', import.meta.url));

export const benchCommand = {
  summary: 'benchmark kiln against onnxruntime-web, TensorFlow.js and onnxruntime-node',
  /** Runs the bench runner in its own process (it starts one child per system); its exit code is the command's. */
  forward(args: readonly string[]): Promise<number> {
    const child = spawn(process.execPath, [RUNNER, ...args], { stdio: 'inherit' });
    return new Promise((done, fail) => {
      child.on('error', fail);
      child.on('close', (code, signal) => done(signal ? 1 : code ?? 1));
    });
  },
};
