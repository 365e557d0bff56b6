// A run's deadline, and a session that recovers from the loss of its device. Each test acquires
// the devices it needs and leaves none alive (one device per test file at a time, see README.md, "Quick start").
import { afterEach, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/ir/errors.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { acquireDevice, DeviceLostError, type GpuDevice } from '../../src/runtime/device.js';
import { PROGRAM_VERSION, type Program } from '../../src/runtime/program.js';
import { RunTimeoutError } from '../../src/runtime/run-deadline.js';
import { Session } from '../../src/runtime/session.js';
import type { DeviceTensor } from '../../src/runtime/device-tensor.js';
import { hasGpu } from '../helpers/gpu.js';

// out[i] = i + sum of `count[0]` small steps: as long a run as the caller asks for.
const SPIN_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> count: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  var acc = f32(gid.x);
  for (var k = 0u; k < count[0]; k++) { acc = acc + 1e-7 * f32(k & 1u); }
  out[gid.x] = acc;
}
`;
const N = 64 * 64;
/** Iterations for a run of a few hundred ms or more on a software adapter: far past 20 ms. */
const LONG = 300_000;

function spinProgram(): Program {
  return {
    version: PROGRAM_VERSION, name: 'spin', weights: new Uint8Array(0), requiredFeatures: [],
    inputs: [{ name: 'count', dtype: 'u32', shape: [1], buffer: 0 }],
    outputs: [{ name: 'out', dtype: 'f32', shape: [N], buffer: 1 }],
    buffers: [{ id: 0, role: 'input', bytes: 4, label: 'count' }, { id: 1, role: 'output', bytes: 4 * N, label: 'out' }],
    kernels: [{ name: 'spin', wgsl: SPIN_WGSL, entryPoint: 'main' }],
    dispatches: [{ kernel: 0, label: 'spin', buffers: [0, 1], workgroups: [N / 64, 1, 1] }],
  };
}
const count = (n: number) => ({ count: tensorData('u32', [1], [n]) });
/** What a run with count 0 gives: out[i] = i. */
const expectIdentity = (out: Record<string, { data: ArrayLike<number> }>) =>
  expect(Array.from(out['out']!.data).every((v, i) => v === i)).toBe(true);

const gpuPresent = await hasGpu();
if (!gpuPresent && process.env['KILN_REQUIRE_GPU']) throw new Error('KILN_REQUIRE_GPU is set but there is no WebGPU adapter');

describe.runIf(gpuPresent)('run deadlines and device loss', () => {
  const devices: GpuDevice[] = [];
  const sessions: Session[] = [];
  afterEach(() => {
    sessions.splice(0).forEach((s) => s.destroy());
    devices.splice(0).forEach((d) => d.destroy());
  });
  const device = async () => {
    const d = await acquireDevice();
    devices.push(d);
    return d;
  };
  const session = async (d: GpuDevice, opts: Parameters<typeof Session.create>[2] = {}) => {
    const s = await Session.create(d, spinProgram(), opts);
    sessions.push(s);
    return s;
  };

  it('a run past its deadline rejects with RunTimeoutError; the session then serves the next run', async () => {
    const s = await session(await device());
    const late = s.run(count(LONG), { timeoutMs: 20 });
    const next = s.run(count(0)); // queued behind the late one, with the default deadline
    await expect(late).rejects.toThrow(RunTimeoutError);
    await expect(late).rejects.toThrow(/program 'spin': the run did not finish within 20 ms .* the session stays usable/);
    expectIdentity(await next);
    expectIdentity(await s.run(count(0), { timeoutMs: 60_000 }));
  });

  it('the session-wide deadline applies to every run; 0 means none', async () => {
    const s = await session(await device(), { runTimeoutMs: 20 });
    await expect(s.run(count(LONG))).rejects.toThrow(RunTimeoutError);
    expectIdentity(await s.run(count(0), { timeoutMs: 0 }));
  });

  it('without recover, a lost device fails every later run with DeviceLostError', async () => {
    const d = await device();
    const s = await session(d);
    expectIdentity(await s.run(count(0)));
    d.destroy();
    await expect(s.run(count(0))).rejects.toThrow(DeviceLostError);
  });

  it('with recover, a device lost between runs is replaced and the program reloaded on a new one', async () => {
    const d = await device();
    const s = await session(d, { recover: true });
    expectIdentity(await s.run(count(0)));
    d.destroy();
    expectIdentity(await s.run(count(0)));
    expect(s.gpu).not.toBe(d);
    expect(s.gpu.isLost).toBe(false);
    expect(s.stats.pipelinesCreated).toBe(2); // once on each device
  });

  it('with recover, an output kept on the lost device is refused, naming the input, and host data still runs', async () => {
    const d = await device();
    const s = await session(d, { recover: true });
    const kept = (await s.run(count(0), { keep: ['out'] }))['out'] as DeviceTensor;
    expect(kept.shape).toEqual([N]);
    d.destroy();
    expectIdentity(await s.run(count(0)));
    // The spin program's input is its count: a kept output of the old device fed there is refused for its device first.
    await expect(s.run({ count: kept })).rejects.toThrow(/input 'count': its device tensor \(f32\[4096\]\) lives on another device/);
    await expect(kept.read()).rejects.toThrow(KilnError);
  });

  it('with recover, the run a loss interrupts rejects and later runs are served', async () => {
    const d = await device();
    const s = await session(d, { recover: true });
    const interrupted = s.run(count(LONG));
    await new Promise((r) => setTimeout(r, 30)); // submitted and running
    d.destroy();
    await expect(interrupted).rejects.toThrow(KilnError);
    expectIdentity(await s.run(count(0)));
    expectIdentity(await s.run(count(0)));
    expect(s.gpu).not.toBe(d);
  });
});
