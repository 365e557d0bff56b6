import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/ir/errors.js';
import { tensorData, type TensorData } from '../../src/ir/tensor-data.js';
import { MissingFeatureError } from '../../src/runtime/device.js';
import type { DispatchSpec, KernelSpec, Program, TensorBinding } from '../../src/runtime/program.js';
import { Session } from '../../src/runtime/session.js';
import { useGpu } from '../helpers/gpu.js';
import { ADD_WGSL, buffer, groups, program, vectorAdd } from '../helpers/programs.js';

// ---- Hand-written kernels, following the program's binding convention (and ../helpers/programs.ts) ----

// One input, three outputs of three dtypes; `scale` arrives as f32 bits and `offset` as a negative i32.
const RELU_MASK_WGSL = /* wgsl */ `
struct Params { n: u32, scale: f32, offset: i32 }
@group(0) @binding(0) var<storage, read> t: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> positive: array<u32>;
@group(0) @binding(3) var<storage, read_write> q: array<i32>;
@group(0) @binding(4) var<uniform> params: Params;

const WG = 32u;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.n) { return; }
  let v = t[i];
  y[i] = max(v, 0.0);
  positive[i] = select(0u, 1u, v > 0.0);
  q[i] = i32(floor(v * params.scale)) + params.offset;
}
`;

const DOUBLE_F16_WGSL = /* wgsl */ `
enable f16;
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read_write> out: array<f16>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= params.n) { return; }
  out[gid.x] = a[gid.x] * 2.0h;
}
`;

// ---- Program builders ----

function f32Bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

const CHAIN_SCALE = 0.5;
const CHAIN_OFFSET = -3;

/**
 * s = x + w (w a weight), t = s + s (scratch to scratch, a second kernel entry with the same WGSL),
 * then y = relu(t), positive = t > 0 (bool), q = floor(t * 0.5) - 3 (i32).
 */
function chain(n: number, w: Float32Array): Program {
  const bytes = 4 * n;
  // Put a few bytes before w so its weightOffset is not zero.
  const weights = new Uint8Array(16 + bytes);
  weights.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), 16);
  const kernels: KernelSpec[] = [
    { name: 'add', wgsl: ADD_WGSL, entryPoint: 'main' },
    { name: 'relu_mask', wgsl: RELU_MASK_WGSL, entryPoint: 'main' },
    { name: 'add_again', wgsl: ADD_WGSL, entryPoint: 'main' },
  ];
  const dispatches: DispatchSpec[] = [
    { kernel: 0, label: 's = add(x, w)', buffers: [0, 1, 2], uniforms: [n], workgroups: groups(n, 64) },
    // Binding one buffer at two read-only bindings is legal.
    { kernel: 2, label: 't = add(s, s)', buffers: [2, 2, 3], uniforms: [n], workgroups: groups(n, 64) },
    {
      kernel: 1, label: 'relu_mask(t)', buffers: [3, 4, 5, 6],
      uniforms: [n, f32Bits(CHAIN_SCALE), CHAIN_OFFSET], workgroups: groups(n, 32),
    },
  ];
  const outputs: TensorBinding[] = [
    { name: 'y', dtype: 'f32', shape: [n], buffer: 4 },
    { name: 'positive', dtype: 'bool', shape: [n], buffer: 5 },
    { name: 'q', dtype: 'i32', shape: [n], buffer: 6 },
  ];
  return program({
    name: 'chain',
    inputs: [{ name: 'x', dtype: 'f32', shape: [n], buffer: 0 }],
    outputs,
    buffers: [
      buffer(0, 'input', bytes), buffer(1, 'weight', bytes, { weightOffset: 16 }),
      buffer(2, 'scratch', bytes), buffer(3, 'scratch', bytes),
      buffer(4, 'output', bytes), buffer(5, 'output', bytes), buffer(6, 'output', bytes),
    ],
    kernels,
    dispatches,
    weights,
  });
}

function expectedChain(x: Float32Array, w: Float32Array): { y: number[]; positive: number[]; q: number[] } {
  const f = Math.fround;
  const t = Array.from(x, (xi, i) => { const s = f(xi + w[i]!); return f(s + s); });
  return {
    y: t.map((v) => Math.max(v, 0)),
    positive: t.map((v) => (v > 0 ? 1 : 0)),
    q: t.map((v) => Math.floor(f(v * CHAIN_SCALE)) + CHAIN_OFFSET),
  };
}

function seq(n: number, fn: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => fn(i));
}

function f32(shape: number[], values: Float32Array | number[]): TensorData {
  return tensorData('f32', shape, values);
}

// ---- Tests ----

describe('Session on WebGPU', () => {
  const gpu = useGpu();

  it('adds two vectors of odd length, with n in a uniform', async () => {
    const n = 1001;
    const session = await Session.create(gpu(), vectorAdd(n));
    try {
      const a = seq(n, (i) => i * 0.5 - 100);
      const b = seq(n, (i) => Math.sin(i));
      const { sum } = await session.run({ a: f32([n], a), b: f32([n], b) });
      expect(sum!.dtype).toBe('f32');
      expect(sum!.shape).toEqual([n]);
      expect(Array.from(sum!.data)).toEqual(Array.from(a, (v, i) => Math.fround(v + b[i]!)));
    } finally {
      session.destroy();
    }
  });

  it('chains kernels through scratch buffers, reads a weight, returns f32, bool and i32 outputs', async () => {
    const n = 301;
    const w = seq(n, (i) => ((i * 7) % 13) - 6.25);
    const session = await Session.create(gpu(), chain(n, w));
    try {
      const x = seq(n, (i) => Math.cos(i) * 5);
      const out = await session.run({ x: f32([n], x) });
      const want = expectedChain(x, w);
      expect(Object.keys(out).sort()).toEqual(['positive', 'q', 'y']);
      expect(out['y']!.data).toBeInstanceOf(Float32Array);
      expect(Array.from(out['y']!.data)).toEqual(want.y);
      expect(out['positive']!.dtype).toBe('bool');
      expect(out['positive']!.data).toBeInstanceOf(Uint8Array);
      expect(Array.from(out['positive']!.data)).toEqual(want.positive);
      expect(out['q']!.dtype).toBe('i32');
      expect(out['q']!.data).toBeInstanceOf(Int32Array);
      expect(Array.from(out['q']!.data)).toEqual(want.q);
      // Identical WGSL under two kernel names compiles once.
      expect(session.stats.shaderModulesCreated).toBe(2);
      expect(session.stats.pipelinesCreated).toBe(2);
      expect(session.stats.weightUploads).toBe(1);
      expect(session.stats.weightBytesUploaded).toBe(4 * n);
    } finally {
      session.destroy();
    }
  });

  it('creates nothing and uploads no weights on repeated runs: one submit per run', async () => {
    const n = 257;
    const w = seq(n, (i) => i - 128);
    const device = gpu();
    const session = await Session.create(device, chain(n, w));
    try {
      await session.run({ x: f32([n], seq(n, () => 1)) });
      const before = session.stats;
      const deviceBefore = { ...device.counters };
      for (let r = 0; r < 20; r++) {
        const x = seq(n, (i) => (i % 5) - r);
        const out = await session.run({ x: f32([n], x) });
        expect(Array.from(out['q']!.data)).toEqual(expectedChain(x, w).q);
      }
      const after = session.stats;
      expect({ ...after, runs: 0, submits: 0 }).toEqual({ ...before, runs: 0, submits: 0 });
      expect(after.runs).toBe(before.runs + 20);
      expect(after.submits).toBe(after.runs);
      // The device's own instrumentation agrees: only command encoders and submits, one each per
      // run (each run's commands were encoded during the run before it: run-commands.ts).
      expect(device.counters).toEqual({ ...deviceBefore, commandEncoders: deviceBefore.commandEncoders + 20, submits: deviceBefore.submits + 20 });
    } finally {
      session.destroy();
    }
  });

  it('serializes runs issued concurrently, each seeing its own inputs', async () => {
    const n = 100;
    // 'spin' here, as the other tests cover the default 'sleep' wait.
    const session = await Session.create(gpu(), vectorAdd(n), { wait: 'spin' });
    try {
      const b = seq(n, (i) => i);
      const arrays = [0, 1, 2, 3, 4].map((k) => seq(n, () => k * 1000));
      // The caller's own arrays (tensorData would copy them).
      const view = (data: Float32Array): TensorData => ({ dtype: 'f32', shape: [n], data });
      const runs = arrays.map((a) => session.run({ a: view(a), b: view(b) }));
      // Overwriting a caller's array after run() returns must not change that run's result, the
      // first run's too (nothing was queued before it) and a shared operand's.
      arrays[0]!.fill(-1);
      arrays[4]!.fill(-1);
      b.fill(7);
      const results = await Promise.all(runs);
      results.forEach((r, k) => expect(Array.from(r['sum']!.data)).toEqual(Array.from({ length: n }, (_, i) => i + k * 1000)));
      expect(session.stats.submits).toBe(5);
    } finally {
      session.destroy();
    }
  });

  it('50 callers in flight at once, each refilling one shared array right after run(), all get their own answer', async () => {
    const n = 257;
    const session = await Session.create(gpu(), vectorAdd(n));
    try {
      const a = new Float32Array(n);
      const b = seq(n, (i) => i);
      const view = (data: Float32Array): TensorData => ({ dtype: 'f32', shape: [n], data });
      const runs: Promise<Record<string, TensorData>>[] = [];
      for (let k = 0; k < 50; k++) {
        a.fill(k); // the streaming pattern: one buffer, refilled for each request
        runs.push(session.run({ a: view(a), b: view(b) }));
      }
      a.fill(-1);
      const results = await Promise.all(runs);
      results.forEach((r, k) => expect(Array.from(r['sum']!.data), `caller ${k}`).toEqual(Array.from({ length: n }, (_, i) => i + k)));
    } finally {
      session.destroy();
    }
  });

  it("returns an output named '__proto__' as an own property like any other", async () => {
    const n = 3;
    const p = vectorAdd(n);
    const session = await Session.create(gpu(), { ...p, outputs: [{ ...p.outputs[0]!, name: '__proto__' }] });
    try {
      const out = await session.run({ a: f32([n], [1, 2, 3]), b: f32([n], [10, 20, 30]) });
      expect(Object.keys(out)).toEqual(['__proto__']);
      expect(Array.from(Object.getOwnPropertyDescriptor(out, '__proto__')!.value.data as Float32Array)).toEqual([11, 22, 33]);
    } finally {
      session.destroy();
    }
  });

  it('round-trips f16 data of odd length when the device has shader-f16', async (ctx) => {
    const device = gpu();
    if (!device.features.has('shader-f16')) ctx.skip('the adapter lacks shader-f16');
    const n = 5;
    const session = await Session.create(device, program({
      name: 'double_f16',
      inputs: [{ name: 'a', dtype: 'f16', shape: [n], buffer: 0 }],
      outputs: [{ name: 'out', dtype: 'f16', shape: [n], buffer: 1 }],
      buffers: [buffer(0, 'input', 12), buffer(1, 'output', 12)],
      kernels: [{ name: 'double_f16', wgsl: DOUBLE_F16_WGSL, entryPoint: 'main' }],
      dispatches: [{ kernel: 0, label: 'double(a)', buffers: [0, 1], uniforms: [n], workgroups: [1, 1, 1] }],
      requiredFeatures: ['shader-f16'],
    }));
    try {
      // 1, 1.5, -2, 0.25, 3 doubled: 2, 3, -4, 0.5, 6 (as f16 bits).
      const a = tensorData('f16', [n], new Uint16Array([0x3c00, 0x3e00, 0xc000, 0x3400, 0x4200]));
      const { out } = await session.run({ a });
      expect(out!.data).toBeInstanceOf(Uint16Array);
      expect(Array.from(out!.data)).toEqual([0x4000, 0x4200, 0xc400, 0x3800, 0x4600]);
    } finally {
      session.destroy();
    }
  });

  describe('rejects bad inputs with clear messages', () => {
    const n = 8;
    const ok = (): Record<string, TensorData> => ({ a: f32([n], seq(n, (i) => i)), b: f32([n], seq(n, (i) => i)) });
    const withSession = async (fn: (s: Session) => Promise<void>): Promise<void> => {
      const session = await Session.create(gpu(), vectorAdd(n));
      try {
        await fn(session);
      } finally {
        session.destroy();
      }
    };

    it('wrong shape', () => withSession(async (s) => {
      await expect(s.run({ ...ok(), a: f32([n + 1], seq(n + 1, () => 0)) })).rejects.toThrow('input \'a\' expects f32[8], got f32[9]');
      await expect(s.run({ ...ok(), a: f32([2, 4], seq(n, () => 0)) })).rejects.toThrow('input \'a\' expects f32[8], got f32[2,4]');
    }));

    it('wrong dtype', () => withSession(async (s) => {
      await expect(s.run({ ...ok(), b: tensorData('i32', [n], new Array(n).fill(1)) })).rejects.toThrow('input \'b\' expects f32[8], got i32[8]');
    }));

    it('data that does not match its dtype or shape', () => withSession(async (s) => {
      const wrongArray = { dtype: 'f32', shape: [n], data: new Int32Array(n) } as const;
      await expect(s.run({ ...ok(), a: wrongArray })).rejects.toThrow('input \'a\': f32 data must be a Float32Array, got Int32Array');
      const short = { dtype: 'f32', shape: [n], data: new Float32Array(n - 1) } as const;
      await expect(s.run({ ...ok(), a: short })).rejects.toThrow('input \'a\': shape [8] has 8 elements but the data has 7');
    }));

    it('unknown and missing names, listing what the program takes', () => withSession(async (s) => {
      const { a } = ok();
      await expect(s.run({ a, c: a })).rejects.toThrow('unknown input(s) \'c\'; missing input(s) \'b\'; it takes a: f32[8], b: f32[8]');
      await expect(s.run({ a })).rejects.toThrow(KilnError);
      // A failed run does not poison the queue.
      const r = await s.run(ok());
      expect(Array.from(r['sum']!.data)).toEqual(Array.from(seq(n, (i) => 2 * i)));
    }));

    it('runs after destroy', async () => {
      const session = await Session.create(gpu(), vectorAdd(n));
      session.destroy();
      await expect(session.run(ok())).rejects.toThrow(/destroyed/);
    });
  });

  describe('fails at create, naming what is wrong', () => {
    it('WGSL that does not compile names the kernel and the line', async () => {
      const p = vectorAdd(4);
      const bad = program({ ...p, kernels: [{ name: 'broken_add', wgsl: ADD_WGSL.replace('a[i] + b[i]', 'a[i] +'), entryPoint: 'main' }] });
      const err = await Session.create(gpu(), bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KilnError);
      expect((err as Error).message).toMatch(/kernel 'broken_add': WGSL does not compile\n\s+\d+:\d+: /);
    });

    it('a dispatch binding fewer buffers than the kernel declares', async () => {
      const p = vectorAdd(4);
      const d = p.dispatches[0]!;
      const bad = program({ ...p, dispatches: [{ ...d, label: 'short add', buffers: [0, 2] }] });
      await expect(Session.create(gpu(), bad)).rejects.toThrow(
        "dispatch #0 'short add' (kernel 'add'): binds 2 buffer(s) but the kernel has 3 storage binding(s)",
      );
    });

    it('a dispatch without the uniforms its kernel reads', async () => {
      const p = vectorAdd(4);
      const { uniforms: _, ...d } = p.dispatches[0]!;
      await expect(Session.create(gpu(), program({ ...p, dispatches: [d] }))).rejects.toThrow(
        "dispatch #0 'add(a, b)' (kernel 'add'): has no uniforms but the kernel reads uniform 'params' at binding 3",
      );
    });

    it('a writable buffer bound twice', async () => {
      const p = vectorAdd(4);
      const bad = program({ ...p, dispatches: [{ ...p.dispatches[0]!, buffers: [0, 2, 2] }] });
      await expect(Session.create(gpu(), bad)).rejects.toThrow(/binds buffer 2 at both 1 and 2 and one of them is writable/);
    });

    it('a kernel outside the binding convention', async () => {
      const p = vectorAdd(4);
      const wgsl = ADD_WGSL.replace('@group(0) @binding(3)', '@group(1) @binding(0)');
      await expect(Session.create(gpu(), program({ ...p, kernels: [{ name: 'grouped', wgsl, entryPoint: 'main' }] })))
        .rejects.toThrow("kernel 'grouped': binds 'params' in group 1; kernels use bind group 0 only");
    });

    it('a missing entry point', async () => {
      const p = vectorAdd(4);
      await expect(Session.create(gpu(), program({ ...p, kernels: [{ name: 'add', wgsl: ADD_WGSL, entryPoint: 'nope' }] })))
        .rejects.toThrow("kernel 'add': no compute entry point 'nope' (it has: main)");
    });

    it('a program needing a feature the device lacks', async () => {
      const p = program({ ...vectorAdd(4), requiredFeatures: ['kiln-imaginary-feature'] });
      await expect(Session.create(gpu(), p)).rejects.toThrow(MissingFeatureError);
    });

    it('malformed programs: version, unknown buffer, weight range', async () => {
      const p = vectorAdd(4);
      await expect(Session.create(gpu(), { ...p, version: 99 })).rejects.toThrow("program 'vector_add': format version 99; this runtime reads version 1");
      const d = p.dispatches[0]!;
      await expect(Session.create(gpu(), { ...p, dispatches: [{ ...d, buffers: [0, 1, 42] }] }))
        .rejects.toThrow("program 'vector_add': dispatch #0 'add(a, b)' names buffer 42, which the program does not declare");
      const withWeight = { ...p, buffers: [...p.buffers, buffer(3, 'weight', 64, { weightOffset: 8 })], weights: new Uint8Array(32) };
      await expect(Session.create(gpu(), withWeight))
        .rejects.toThrow("program 'vector_add': buffer 3 'weight3': weight bytes 8..72 lie outside the 32-byte weights blob");
    });
  });
});
