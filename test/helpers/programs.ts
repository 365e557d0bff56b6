import { PROGRAM_VERSION, type BufferSpec, type Program } from '../../src/runtime/program.js';

// Hand-written programs for runtime tests, following the program's binding convention.

export const ADD_WGSL = /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.n) { return; }
  out[i] = a[i] + b[i];
}
`;

/** Workgroups covering `n` invocations, `size` a workgroup, along x. */
export function groups(n: number, size: number): [number, number, number] {
  return [Math.ceil(n / size), 1, 1];
}

export function buffer(id: number, role: BufferSpec['role'], bytes: number, extra: Partial<BufferSpec> = {}): BufferSpec {
  return { id, role, bytes, label: `${role}${id}`, ...extra };
}

export function program(p: Partial<Program> & Pick<Program, 'inputs' | 'outputs' | 'buffers' | 'kernels' | 'dispatches'>): Program {
  return { version: PROGRAM_VERSION, name: 'test', weights: new Uint8Array(0), requiredFeatures: [], ...p };
}

/** out = a + b over `n` f32 elements (inputs 'a' and 'b', output 'sum'). */
export function vectorAdd(n: number): Program {
  const bytes = 4 * n;
  return program({
    name: 'vector_add',
    inputs: [{ name: 'a', dtype: 'f32', shape: [n], buffer: 0 }, { name: 'b', dtype: 'f32', shape: [n], buffer: 1 }],
    outputs: [{ name: 'sum', dtype: 'f32', shape: [n], buffer: 2 }],
    buffers: [buffer(0, 'input', bytes), buffer(1, 'input', bytes), buffer(2, 'output', bytes)],
    kernels: [{ name: 'add', wgsl: ADD_WGSL, entryPoint: 'main' }],
    dispatches: [{ kernel: 0, label: 'add(a, b)', buffers: [0, 1, 2], uniforms: [n], workgroups: groups(n, 64) }],
  });
}
