import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

// Dawn prints two warnings to the process's stderr whenever it enumerates a Vulkan adapter that
// reports unbounded dynamic-buffer limits (Mesa's lavapipe does), whatever limits the device is
// then created with: "maxDynamicUniformBuffersPerPipelineLayout artificially reduced from
// 1000000 to 16 ...". They come from native code (fprintf), so no JavaScript hook can stop
// them; kiln's command line and scripts run their work in a child process and drop exactly
// these lines from its stderr, passing everything else through.

/** The two lines Dawn prints at adapter enumeration; nothing else is dropped. */
export const DAWN_LIMIT_WARNING = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/**
 * Runs `node SCRIPT ARGS...` (with this process's Node flags) with its stderr filtered, and
 * exits as it exits. `KILN_DAWN_LOG=show` in the environment runs it unfiltered.
 */
export function runWithoutDawnWarnings(script: string, args: readonly string[]): void {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], { stdio: ['inherit', 'inherit', 'pipe'] });
  const lines = createInterface({ input: child.stderr, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!DAWN_LIMIT_WARNING.test(line)) process.stderr.write(`${line}\n`);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => child.kill(signal));
  child.on('error', (e) => {
    process.stderr.write(`kiln: cannot start ${script}: ${e.message}\n`);
    process.exit(1);
  });
  // Exit once both the child and its stderr are done, so no line is lost.
  const closed = new Promise<void>((resolve) => lines.on('close', resolve));
  child.on('exit', (code, signal) => {
    void closed.then(() => {
      if (signal) process.kill(process.pid, signal);
      // Once the lines passed on are flushed.
      else process.stderr.write('', () => process.exit(code ?? 1));
    });
  });
}
