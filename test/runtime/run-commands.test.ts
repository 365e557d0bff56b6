import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { instantiateGraph } from '../../src/ir/instantiate.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { compile } from '../../src/compiler.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { Session } from '../../src/runtime/session.js';
import { Random } from '../../src/frontend/torch/random.js';
import { useGpu } from '../helpers/gpu.js';
import { expectClose } from '../helpers/compare.js';

// A session encodes the next run's commands while the device computes the current one, after its
// first run and after a run like the one before it (run-commands.ts). A run unlike the last (other sizes, outputs read
// back or input slot) must encode its own: the commands encoded ahead would compute the last
// run's extents, copy the last run's outputs, or read the last run's input slot.

const TEXT = `graph g(%x: f32[N,4] @webgpu) -> (f32[N,4] @webgpu, f32[N,4] @webgpu) sizes(N: [1, 600]) {
  %b = const() {value = [0.5, -1, 2, 0.25]} : f32[4] @webgpu
  %s = add(%x, %b) : f32[N,4] @webgpu
  %e = exp(%s) : f32[N,4] @webgpu
  return %s, %e
}
`;
const graph = parseGraph(TEXT);
const [S, E] = graph.outputs.map((o) => o.name) as [string, string];
let seed = 0;

/** Fresh random inputs of N rows (each run's differ, so a result left from an earlier run shows). */
function inputs(n: number): Record<string, TensorData> {
  const rng = new Random(++seed);
  return { [graph.inputs[0]!.name]: tensorData('f32', [n, 4], Array.from({ length: n * 4 }, () => rng.normal())) };
}

/** Runs `session` on N rows and checks the outputs read back (all, or `outputs`) against the CPU reference. */
async function check(session: Session, n: number, outputs?: string[]): Promise<void> {
  const x = inputs(n);
  const got = await session.run(x, { outputs });
  const ref = runOnCpu(instantiateGraph(graph, { N: n }), x);
  expect(Object.keys(got).sort()).toEqual((outputs ?? [S, E]).slice().sort());
  for (const name of Object.keys(got)) expectClose(got[name]!, ref[name]!, 1e-6, 1e-5);
}

describe('commands encoded ahead', () => {
  const gpu = useGpu();

  it('serve a run like the one before it; a run at other sizes or reading back other outputs encodes its own', async () => {
    const device = gpu();
    const session = await Session.create(device, compile(graph));
    try {
      const encoders = () => device.counters.commandEncoders;
      await check(session, 600);
      await check(session, 2);
      await check(session, 2);
      // Alike runs: one encoder each, the next run's, encoded after the submit.
      const before = encoders();
      for (let r = 0; r < 3; r++) await check(session, 2);
      expect(encoders() - before).toBe(3);
      // Encoded for 2 rows, the commands ahead would leave most of 600 uncomputed.
      await check(session, 600);
      await check(session, 600, [E]);
      await check(session, 600, [E]);
      await check(session, 600, [E]);
      // Encoded to copy only one output, they would leave the other's bytes from an earlier run.
      await check(session, 600);
      await check(session, 600, []);
    } finally {
      session.destroy();
    }
  });

  it('serve no run from another input slot', async () => {
    const session = await Session.create(gpu(), compile(graph), { inputSlots: 2 });
    try {
      for (let r = 0; r < 3; r++) await check(session, 7);
      const [a, b] = [inputs(7), inputs(7)];
      const staged = [session.stage(a), session.stage(b)];
      const ref = (x: Record<string, TensorData>) => runOnCpu(instantiateGraph(graph, { N: 7 }), x);
      // The first reads slot 0, as the runs before it did; the second reads slot 1.
      const got = await Promise.all(staged.map((s) => session.run(s)));
      [a, b].forEach((x, k) => expectClose(got[k]![E]!, ref(x)[E]!, 1e-6, 1e-5));
    } finally {
      session.destroy();
    }
  });

  it('are not encoded with encodeAhead false: one encoder a run', async () => {
    const device = gpu();
    const session = await Session.create(device, compile(graph), { encodeAhead: false });
    try {
      const before = device.counters.commandEncoders;
      for (let r = 0; r < 4; r++) await check(session, 9);
      expect(device.counters.commandEncoders - before).toBe(4);
    } finally {
      session.destroy();
    }
  });
});

// A run like the last one to pass validation submits the same commands, so it runs without an
// error scope (ValidatedRun); runs with other sizes, outputs or kept outputs are checked again,
// and so is a run after one that failed.
describe('error scopes', () => {
  const gpu = useGpu();

  it('are skipped only for a run like the last one that passed validation', async () => {
    const device = gpu();
    const session = await Session.create(device, compile(graph));
    const d = device.device;
    const push = d.pushErrorScope.bind(d);
    let scopes = 0;
    d.pushErrorScope = (filter) => {
      scopes++;
      push(filter);
    };
    const scoped = async (run: () => Promise<unknown>): Promise<boolean> => {
      const before = scopes;
      await run();
      return scopes > before;
    };
    try {
      expect(await scoped(() => check(session, 600))).toBe(true);
      expect(await scoped(() => check(session, 600))).toBe(false);
      expect(await scoped(() => check(session, 600))).toBe(false);
      expect(await scoped(() => check(session, 2))).toBe(true);
      expect(await scoped(() => check(session, 2))).toBe(false);
      expect(await scoped(() => check(session, 2, [E]))).toBe(true);
      expect(await scoped(() => check(session, 2, [E]))).toBe(false);
      // Kept outputs are copied into buffers new to the run: always checked, and never trusted after.
      let kept: Record<string, unknown> = {};
      expect(await scoped(async () => (kept = await session.run(inputs(2), { keep: [S] })))).toBe(true);
      (kept[S] as { destroy(): void }).destroy();
      expect(await scoped(() => check(session, 2, [E]))).toBe(false);

      // A run failing validation is reported, and the next run like it is checked again. The next
      // submit gets an extra command buffer copying from a destroyed buffer.
      const bad = d.createBuffer({ size: 4, usage: GPUBufferUsage.COPY_SRC });
      const sink = d.createBuffer({ size: 4, usage: GPUBufferUsage.COPY_DST });
      bad.destroy();
      const submit = d.queue.submit.bind(d.queue);
      const failNextSubmit = () => {
        d.queue.submit = (buffers) => {
          d.queue.submit = submit;
          const e = d.createCommandEncoder();
          e.copyBufferToBuffer(bad, 0, sink, 0, 4);
          submit([e.finish(), ...buffers]);
        };
      };
      const uncaptured = device.uncapturedErrors.count;
      expect(await scoped(() => check(session, 3))).toBe(true);
      expect(await scoped(() => check(session, 3))).toBe(false);
      // This run has no scope: it learns of the error as the device's uncaptured one.
      failNextSubmit();
      await expect(session.run(inputs(3))).rejects.toThrow(/failed on the GPU: .*destroyed/);
      expect(device.uncapturedErrors.count).toBe(uncaptured + 1);
      expect(await scoped(() => check(session, 3))).toBe(true);
      expect(await scoped(() => check(session, 3))).toBe(false);
      // At new sizes the run is checked: its scope catches the error.
      failNextSubmit();
      await expect(session.run(inputs(5))).rejects.toThrow(/failed on the GPU: .*destroyed/);
      expect(device.uncapturedErrors.count).toBe(uncaptured + 1);
      expect(await scoped(() => check(session, 5))).toBe(true);
      expect(await scoped(() => check(session, 5))).toBe(false);
      sink.destroy();
    } finally {
      d.pushErrorScope = push;
      session.destroy();
    }
  });

  it('are skipped for runs alternating input slots or outputs once each kind passed', async () => {
    const device = gpu();
    const session = await Session.create(device, compile(graph), { inputSlots: 2 });
    const d = device.device;
    const push = d.pushErrorScope.bind(d);
    const scoped: boolean[] = [];
    let scopes = 0;
    d.pushErrorScope = (filter) => {
      scopes++;
      push(filter);
    };
    try {
      const ref = (x: Record<string, TensorData>) => runOnCpu(instantiateGraph(graph, { N: 7 }), x);
      for (let r = 0; r < 4; r++) {
        // Two runs staged at once read slots 0 and 1, then the next pair the same.
        const xs = [inputs(7), inputs(7)];
        const staged = xs.map((x) => session.stage(x));
        for (let k = 0; k < 2; k++) {
          const before = scopes;
          expectClose((await session.run(staged[k]!))[E]!, ref(xs[k]!)[E]!, 1e-6, 1e-5);
          scoped.push(scopes > before);
        }
      }
      expect(scoped).toEqual([true, true, false, false, false, false, false, false]);
      // Outputs alternating: each kind checked once.
      const pattern: boolean[] = [];
      for (const o of [[E], [S], [E], [S]]) {
        const before = scopes;
        await check(session, 7, o);
        pattern.push(scopes > before);
      }
      expect(pattern).toEqual([true, true, false, false]);
    } finally {
      d.pushErrorScope = push;
      session.destroy();
    }
  });
});
