// The runner's side of one system's child process (bench/child.ts): spawns it with an IPC
// channel and sends it one request at a time. A crash or a timeout kills the child and fails
// every request from then on with the reason, so its remaining rows say what happened.
import { spawn, type ChildProcess } from 'node:child_process';
import type { ChildResponse, RequestBody } from './protocol.js';

export class ChildHandle {
  /** Why the child is gone (exit code, signal, timeout, with its last stderr lines); null while alive. */
  failure: string | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { done: (v: unknown) => void; fail: (e: Error) => void }>();
  private readonly tail: string[] = [];
  private readonly child: ChildProcess;

  constructor(readonly id: string, script: string, args: readonly string[], nodeFlags: readonly string[], log: (m: string) => void) {
    this.child = spawn(process.execPath, [...nodeFlags, script, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('[bench] ')) log(line);
        else if (line.trim() && !/^Warning: maxDynamic/.test(line)) {
          this.tail.push(line);
          if (this.tail.length > 12) this.tail.shift();
        }
      }
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.child.on('message', (res: ChildResponse) => {
      const p = this.pending.get(res.id);
      this.pending.delete(res.id);
      if (!p) return;
      if ('error' in res) p.fail(new Error(res.error));
      else p.done(res.value);
    });
    this.child.on('exit', (code, signal) => {
      if (!this.failure) this.fail(signal ? `crashed (${signal})` : `exited with code ${code}`);
    });
  }

  /** Sends one request and resolves with the answer; rejects with the child's error, or its failure. */
  request<T>(body: RequestBody, timeoutMs: number): Promise<T> {
    if (this.failure) return Promise.reject(new Error(this.failure));
    const id = this.nextId++;
    return new Promise<T>((done, fail) => {
      const timer = setTimeout(() => this.fail(`timed out after ${timeoutMs / 1000} s (${body.op})`), timeoutMs);
      this.pending.set(id, {
        done: (v) => { clearTimeout(timer); done(v as T); },
        fail: (e) => { clearTimeout(timer); fail(e); },
      });
      this.child.send({ ...body, id });
    });
  }

  /** Marks the child failed (and kills it): every pending and later request rejects with why. */
  private fail(why: string): void {
    const last = this.tail.slice(-3).join(' / ');
    this.failure = `${this.id}'s process ${why}${last ? `: ${last}` : ''}`;
    this.child.kill('SIGKILL');
    for (const p of this.pending.values()) p.fail(new Error(this.failure));
    this.pending.clear();
  }

  /** Kills the child if it is still running (after close it has exited by itself). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
