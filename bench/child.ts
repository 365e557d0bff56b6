// One system's bench process: `node dist/bench/child.js --system ID [--kiln-wait sleep|spin] [--throttle-polls]`,
// started by bench/main.ts with an IPC channel. It answers the runner's requests one at a time
// (start, load, trial, unload, close: see bench/protocol.ts), so the runner can interleave the
// systems' trials while each keeps its runtime and loaded model; progress goes to stderr.
import { parseArgs } from 'node:util';
import { throttleDawnPolling } from '../src/runtime/dawn-poll.js';
import type { ChildRequest, ChildResponse } from './protocol.js';
import { SystemDriver } from './run-system.js';
import { isSystemId, loadSystem } from './systems/index.js';
import { WORKLOADS, type Workload } from './workloads.js';

const { values } = parseArgs({ options: { system: { type: 'string' }, 'kiln-wait': { type: 'string' }, 'throttle-polls': { type: 'boolean' } }, strict: true });

// kiln throttles its own Dawn polls; this gives a peer's the same (see src/runtime/dawn-poll.ts).
if (values['throttle-polls']) throttleDawnPolling();

const id = values.system ?? '';
if (!isSystemId(id) || !process.send) {
  console.error('usage: child.js --system ID [--kiln-wait sleep|spin] [--throttle-polls]   (started by bench/main.js with an IPC channel)');
  process.exit(2);
}

const wait = values['kiln-wait'];
const system = await loadSystem(id, wait === 'sleep' || wait === 'spin' ? { kilnWait: wait } : {});
const driver = new SystemDriver(system, (m) => console.error(`[bench] ${m}`));

function workload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`unknown workload ${name}`);
  return w;
}

async function answer(req: ChildRequest): Promise<unknown> {
  switch (req.op) {
    case 'start': return driver.start();
    case 'load': return driver.load(workload(req.workload), req.precision, req.warmup);
    case 'trial': {
      const t = await driver.trial(workload(req.workload), req.precision, req.runs);
      if (t.countNote) driver.note(t.countNote);
      return t;
    }
    case 'unload': return driver.unload(workload(req.workload), req.precision);
    case 'close': {
      const header = driver.header();
      await driver.close();
      return header;
    }
  }
}

// Requests come one at a time (the runner awaits each answer), so they never overlap.
process.on('message', (req: ChildRequest) => {
  void answer(req).then(
    (value) => ({ id: req.id, value: value ?? null }),
    (e: unknown) => ({ id: req.id, error: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300) }),
  ).then((res: ChildResponse) => {
    process.send!(res, () => {
      // Leave at once after close: peers keep wasm worker threads and Dawn devices alive that
      // would hold the process open (or crash it while tearing down).
      if (req.op === 'close') process.exit(0);
    });
  });
});
