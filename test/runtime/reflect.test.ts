import { describe, expect, it } from 'vitest';
import { bindGroupLayoutEntries, checkDispatch, checkKernelLimits, reflectKernel } from '../../src/runtime/reflect.js';
import type { DispatchSpec, KernelSpec, StaticDispatch } from '../../src/runtime/program.js';

const kernel = (wgsl: string, entryPoint = 'main', name = 'k'): KernelSpec => ({ name, wgsl, entryPoint });

const ELEMENTWISE = kernel(/* wgsl */ `
struct Params { n: u32, alpha: f32, shape: vec4<u32> }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
const WG_X = 16u;
@compute @workgroup_size(WG_X, 4)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  out[gid.x] = a[gid.x] + b[gid.x] * params.alpha;
}
`);

const limits = { maxComputeWorkgroupsPerDimension: 65535, maxStorageBufferBindingSize: 1 << 20, maxUniformBufferBindingSize: 65536 };
const sizes = new Map([[0, 64], [1, 64], [2, 64], [3, 64], [8, 1 << 21], [9, 1 << 21]]);
// Buffer 9 is a constant weight; the others are activations.
const ctx = { buffer: (id: number) => (sizes.has(id) ? { bytes: sizes.get(id)!, role: id === 9 ? 'weight' as const : 'scratch' as const, label: `%v${id}` } : undefined), limits };
const dispatch = (over: Partial<DispatchSpec> = {}): DispatchSpec =>
  ({ kernel: 0, label: 'axpy', buffers: [0, 1, 2], uniforms: [4, 0, 0, 0, 1, 1, 1, 4], workgroups: [1, 1, 1], ...over });

describe('reflectKernel', () => {
  it('reads binding kinds by number and a workgroup size given through a const', () => {
    const r = reflectKernel(ELEMENTWISE);
    expect(r.workgroupSize).toEqual([16, 4, 1]);
    expect(r.storageCount).toBe(3);
    expect(r.bindings.map((b) => [b.binding, b.kind, b.name])).toEqual([
      [0, 'read-only-storage', 'a'],
      [1, 'read-only-storage', 'b'], // var<storage> defaults to read
      [2, 'storage', 'out'],
      [3, 'uniform', 'params'],
    ]);
    expect(r.uniform?.minBytes).toBe(32);
    expect(bindGroupLayoutEntries(r)).toEqual([
      { binding: 0, visibility: 4, buffer: { type: 'read-only-storage' } },
      { binding: 1, visibility: 4, buffer: { type: 'read-only-storage' } },
      { binding: 2, visibility: 4, buffer: { type: 'storage' } },
      { binding: 3, visibility: 4, buffer: { type: 'uniform' } },
    ]);
  });

  it('counts declared bindings the entry point does not use', () => {
    const r = reflectKernel(kernel(`
@group(0) @binding(0) var<storage, read> unused: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = 1.0; }`));
    expect(r.storageCount).toBe(2);
  });

  it('rejects bindings outside the convention, naming the kernel', () => {
    const gap = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = a[0]; }`;
    expect(() => reflectKernel(kernel(gap, 'main', 'gappy'))).toThrow(
      "kernel 'gappy': bindings must be storage buffers at 0..n-1 then at most one uniform at n; it declares a: read-only-storage@0, out: storage@2",
    );
    const uniformFirst = `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1) fn main() { out[0] = p.n; }`;
    expect(() => reflectKernel(kernel(uniformFirst))).toThrow(/at most one uniform at n; it declares p: uniform@0, out: storage@1/);
    const texture = `
@group(0) @binding(0) var t: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() { out[0] = textureLoad(t, vec2i(0, 0), 0).x; }`;
    expect(() => reflectKernel(kernel(texture))).toThrow("kernel 'k': declares 't'; kernels may only use storage and uniform buffers");
  });

  it('names the entry points a kernel does have', () => {
    expect(() => reflectKernel(kernel(ELEMENTWISE.wgsl, 'mian'))).toThrow("kernel 'k': no compute entry point 'mian' (it has: main)");
  });
});

describe('checkKernelLimits', () => {
  it('rejects workgroups larger than the device allows', () => {
    const r = reflectKernel(ELEMENTWISE);
    expect(() => checkKernelLimits(ELEMENTWISE, r, { maxComputeInvocationsPerWorkgroup: 32 })).toThrow(
      "kernel 'k': @workgroup_size(16,4,1) has 64 invocations; this device allows 32",
    );
    expect(() => checkKernelLimits(ELEMENTWISE, r, { maxStorageBuffersPerShaderStage: 2 })).toThrow(/binds 3 storage buffers; this device allows 2/);
  });
});

describe('checkDispatch', () => {
  const r = reflectKernel(ELEMENTWISE);
  const check = (d: DispatchSpec): void => checkDispatch(d as StaticDispatch, 7, ELEMENTWISE, r, ctx);

  it('accepts a dispatch that follows the convention', () => {
    expect(() => check(dispatch())).not.toThrow();
    expect(() => check(dispatch({ buffers: [0, 0, 2] }))).not.toThrow(); // two read-only bindings may alias
  });

  it('names the dispatch and the kernel in every complaint', () => {
    expect(() => check(dispatch({ buffers: [0, 1] }))).toThrow(
      "dispatch #7 'axpy' (kernel 'k'): binds 2 buffer(s) but the kernel has 3 storage binding(s); the kernel declares a: read-only-storage@0, b: read-only-storage@1, out: storage@2, params: uniform@3",
    );
    expect(() => check(dispatch({ uniforms: [4] }))).toThrow("dispatch #7 'axpy' (kernel 'k'): has 1 uniform word(s) (4 bytes) but 'params' needs 32 bytes");
    expect(() => check(dispatch({ uniforms: [4, 0.5, 0, 0, 1, 1, 1, 4] }))).toThrow(/uniform word 1 is 0.5, not a 32-bit integer/);
    expect(() => check(dispatch({ workgroups: [70000, 1, 1] }))).toThrow(/workgroups \[70000,1,1\] must be three integers in 0..65535/);
    expect(() => check(dispatch({ buffers: [0, 1, 9] }))).toThrow(
      /binding 2 \(buffer 9, %v9\) has 2097152 bytes; this device binds at most 1048576 \(maxStorageBufferBindingSize\): compile the model for this device with --max-binding-bytes 1048576 .*splits larger constant weights/);
    // An activation cannot be split: recompiling would not help, and the error says so.
    expect(() => check(dispatch({ buffers: [0, 1, 8] }))).toThrow(
      /binding 2 \(buffer 8, %v8\) has 2097152 bytes; this device binds at most 1048576 \(maxStorageBufferBindingSize\): it is not a constant weight, and an activation, input or output must fit in one binding/);
    expect(() => check(dispatch({ buffers: [0, 1, 8] }))).not.toThrow(/--max-binding-bytes/);
    expect(() => check(dispatch({ buffers: [0, 1, 5] }))).toThrow(/binding 2 names buffer 5, which the program does not declare/);
    expect(() => check(dispatch({ buffers: [2, 1, 2] }))).toThrow(/binds buffer 2 at both 0 and 2 and one of them is writable/);
  });
});
