import { KilnError } from '../ir/errors.js';
import type { GpuDevice } from './device.js';
import { createProgramBuffer, createProgramBuffers, createUniforms, planReadback, type UniformSlice } from './load-buffers.js';
import { checkFeatures, checkProgramOnDevice, compileProblem, kernelKey } from './load-checks.js';
import { validateProgram, type KernelSpec, type StaticBinding, type StaticDispatch, type StaticProgram } from './program.js';
import { bindGroupLayoutEntries, type KernelReflection } from './reflect.js';

// Loading a Program onto a device: every GPU object a run needs, created once (its checks
// against the device in load-checks.ts, its buffers in load-buffers.ts).

/** Counters of what loading and running created; see SessionStats. */
export interface LoadStats {
  pipelinesCreated: number;
  shaderModulesCreated: number;
  buffersCreated: number;
  bindGroupsCreated: number;
  weightBytesUploaded: number;
  weightUploads: number;
}

/** One dispatch, ready to encode. */
export interface Step {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/** An output and where its bytes start in the staging buffer. */
export interface Readback {
  readonly output: StaticBinding;
  readonly offset: number;
}

/** A copy from a program buffer into the staging buffer, encoded after the compute pass. */
export interface StagingCopy {
  readonly src: GPUBuffer;
  readonly dstOffset: number;
  readonly bytes: number;
}

/** A copy into a state buffer, encoded after the compute pass (Program.stateUpdates). */
export interface StateCopy {
  readonly src: GPUBuffer;
  readonly dst: GPUBuffer;
  readonly bytes: number;
}

/**
 * One set of input buffers and the dispatches bound to them. With several slots, inputs for the
 * next run can be uploaded while a run that reads another slot is still queued.
 */
export interface InputSlot {
  /** Buffer of each program input, by buffer id. */
  readonly inputs: ReadonlyMap<number, GPUBuffer>;
  readonly steps: readonly Step[];
}

/** Everything a run needs, created at load. */
export interface LoadedProgram {
  readonly buffers: ReadonlyMap<number, GPUBuffer>;
  /** Input slot 0 uses `buffers` and `steps`; further slots have input buffers of their own. */
  readonly slots: readonly InputSlot[];
  readonly stateCopies: readonly StateCopy[];
  /** Every buffer loading created, to free on destroy. */
  readonly owned: readonly GPUBuffer[];
  readonly steps: readonly Step[];
  /** One MAP_READ buffer for all outputs; absent when the program has none. */
  readonly staging: GPUBuffer | undefined;
  readonly copies: readonly StagingCopy[];
  readonly readbacks: readonly Readback[];
  /** Each dispatch's slice of the uniform buffer (undefined: it has none). */
  readonly uniforms: readonly (UniformSlice | undefined)[];
}

export interface LoadOptions {
  readonly label: string;
  readonly warmup: boolean;
  /** Sets of input buffers (default 1); see InputSlot. */
  readonly inputSlots?: number;
}

interface LoadedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
}

/**
 * Validates `program` against the device, then creates its shader modules, pipelines (compiled
 * in parallel), buffers (weights uploaded once), uniforms, bind groups and staging buffer.
 * On failure frees what it created and throws a KilnError naming the kernel or dispatch.
 */
export async function loadProgram(gpu: GpuDevice, program: StaticProgram, opts: LoadOptions, stats: LoadStats): Promise<LoadedProgram> {
  gpu.assertUsable(`loading program '${program.name}'`);
  validateProgram(program);
  checkFeatures(gpu, program);
  const { label } = opts;
  const device = gpu.device;

  // Shader modules first: Dawn's compile messages (line:column) beat any reflection error.
  const modules = await createShaderModules(device, program.kernels, stats);

  // Reflect each distinct (WGSL, entry point) and check every dispatch against it before
  // creating anything that needs freeing.
  const reflections = checkProgramOnDevice(gpu, program);

  const pipelines = await createPipelines(device, program.kernels, modules, reflections, label, stats);

  const owned: GPUBuffer[] = [];
  const newBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const b = device.createBuffer(desc);
    owned.push(b);
    stats.buffersCreated++;
    return b;
  };
  try {
    const buffers = createProgramBuffers(program, newBuffer, device.queue, stats);
    const uniformSlices = createUniforms(program, reflections, newBuffer, label);
    const steps = await createSteps(device, program, pipelines, buffers, uniformSlices, label, stats);
    const slots: InputSlot[] = [{ inputs: new Map(program.inputs.map((t) => [t.buffer, buffers.get(t.buffer)!])), steps }];
    for (let k = 1; k < (opts.inputSlots ?? 1); k++) {
      const own = new Map(buffers);
      for (const t of program.inputs) {
        const spec = program.buffers.find((b) => b.id === t.buffer)!;
        own.set(t.buffer, createProgramBuffer(newBuffer, program, { ...spec, label: `${spec.label ?? 'input'}#${k}` }, device.queue));
      }
      const slotSteps = await createSteps(device, program, pipelines, own, uniformSlices, label, stats);
      slots.push({ inputs: new Map(program.inputs.map((t) => [t.buffer, own.get(t.buffer)!])), steps: slotSteps });
    }
    const stateCopies = (program.stateUpdates ?? []).map((u) => {
      const dst = buffers.get(u.to)!;
      return { src: buffers.get(u.from)!, dst, bytes: dst.size };
    });
    const { staging, copies, readbacks } = planReadback(program, buffers, newBuffer, label);
    if (opts.warmup) await warmUp(device, program, steps, label, stats);
    return { buffers, slots, stateCopies, owned, steps, staging, copies, readbacks, uniforms: uniformSlices };
  } catch (e) {
    for (const b of owned) b.destroy();
    throw e;
  }
}

/** One shader module per distinct WGSL text; compile errors become a KilnError naming the kernel. */
async function createShaderModules(device: GPUDevice, kernels: readonly KernelSpec[], stats: LoadStats): Promise<Map<string, GPUShaderModule>> {
  const modules = new Map<string, GPUShaderModule>();
  const checks: Promise<void>[] = [];
  for (const k of kernels) {
    if (modules.has(k.wgsl)) continue;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: k.wgsl, label: k.name });
    const scope = device.popErrorScope();
    stats.shaderModulesCreated++;
    modules.set(k.wgsl, module);
    checks.push(Promise.all([scope, module.getCompilationInfo()]).then(([err, info]) => {
      const problem = compileProblem(k, err, info);
      if (problem) throw new KilnError(problem);
    }));
  }
  await Promise.all(checks);
  return modules;
}

/** One compute pipeline per distinct (WGSL, entry point), all compiled in parallel, with explicit layouts. */
async function createPipelines(
  device: GPUDevice, kernels: readonly KernelSpec[], modules: ReadonlyMap<string, GPUShaderModule>,
  reflections: ReadonlyMap<string, KernelReflection>, label: string, stats: LoadStats,
): Promise<LoadedPipeline[]> {
  const byKey = new Map<string, Promise<LoadedPipeline>>();
  const layouts = new Map<string, { bindGroupLayout: GPUBindGroupLayout; layout: GPUPipelineLayout }>();
  for (const k of kernels) {
    const key = kernelKey(k);
    if (byKey.has(key)) continue;
    const r = reflections.get(key)!;
    const entries = bindGroupLayoutEntries(r);
    const layoutKey = entries.map((e) => e.buffer!.type).join(',');
    device.pushErrorScope('validation');
    let shared = layouts.get(layoutKey);
    if (!shared) {
      const bindGroupLayout = device.createBindGroupLayout({ entries, label: `${label}:${layoutKey || 'empty'}` });
      const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout], label: `${label}:${layoutKey || 'empty'}` });
      shared = { bindGroupLayout, layout };
      layouts.set(layoutKey, shared);
    }
    const { bindGroupLayout, layout } = shared;
    const pending = device.createComputePipelineAsync({
      label: k.name,
      layout,
      compute: { module: modules.get(k.wgsl)!, entryPoint: k.entryPoint },
    });
    const scope = device.popErrorScope();
    stats.pipelinesCreated++;
    byKey.set(key, Promise.all([pending, scope]).then(
      ([pipeline, err]) => {
        if (err) throw new KilnError(`kernel '${k.name}': cannot create its pipeline: ${err.message}`);
        return { pipeline, bindGroupLayout };
      },
      (e: unknown) => {
        throw e instanceof KilnError ? e : new KilnError(`kernel '${k.name}': cannot create its pipeline: ${(e as Error).message}`);
      },
    ));
  }
  const entries = [...byKey.entries()];
  const settled = await Promise.allSettled(entries.map(([, p]) => p));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const done = new Map(entries.map(([key], i) => [key, (settled[i] as PromiseFulfilledResult<LoadedPipeline>).value]));
  return kernels.map((k) => done.get(kernelKey(k))!);
}

/** Each dispatch's pipeline and bind group (created once, inside error scopes naming the dispatch). */
async function createSteps(
  device: GPUDevice, program: StaticProgram, pipelines: readonly LoadedPipeline[],
  buffers: ReadonlyMap<number, GPUBuffer>, uniforms: readonly (UniformSlice | undefined)[],
  label: string, stats: LoadStats,
): Promise<Step[]> {
  const checks: Promise<void>[] = [];
  const steps = program.dispatches.map((d: StaticDispatch, i): Step => {
    const { pipeline, bindGroupLayout } = pipelines[d.kernel]!;
    const entries: GPUBindGroupEntry[] = d.buffers.map((id, binding) => ({ binding, resource: { buffer: buffers.get(id)! } }));
    const u = uniforms[i];
    if (u) entries.push({ binding: d.buffers.length, resource: { buffer: u.buffer, offset: u.offset, size: u.size } });
    device.pushErrorScope('validation');
    const bindGroup = device.createBindGroup({ layout: bindGroupLayout, entries, label: `${label}:${d.label}` });
    stats.bindGroupsCreated++;
    checks.push(device.popErrorScope().then((err) => {
      if (err) throw new KilnError(`dispatch #${i} '${d.label}' (kernel '${program.kernels[d.kernel]!.name}'): cannot create its bind group: ${err.message}`);
    }));
    return { pipeline, bindGroup, workgroups: d.workgroups };
  });
  await Promise.all(checks);
  return steps;
}

/**
 * Makes the driver compile every pipeline now rather than in the first run (lavapipe compiles
 * at first dispatch): one indirect dispatch of each with zero workgroups, which computes nothing.
 * Indirect, because Dawn warns on a literal dispatchWorkgroups(0) and cannot see this count.
 */
async function warmUp(device: GPUDevice, program: StaticProgram, steps: readonly Step[], label: string, stats: LoadStats): Promise<void> {
  const firstUse = new Map<GPUComputePipeline, Step>();
  for (const s of steps) if (!firstUse.has(s.pipeline)) firstUse.set(s.pipeline, s);
  if (firstUse.size === 0) return;
  // Created zeroed, as WebGPU guarantees: workgroup counts (0, 0, 0).
  const zeroCounts = device.createBuffer({ size: 12, usage: GPUBufferUsage.INDIRECT, label: `${label}:warmup` });
  stats.buffersCreated++;
  try {
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label: `${label}:warmup` });
    const pass = encoder.beginComputePass({ label: `${label}:warmup` });
    for (const s of firstUse.values()) {
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroupsIndirect(zeroCounts, 0);
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
    const err = await device.popErrorScope();
    if (err) throw new KilnError(`program '${program.name}': warming up its pipelines failed: ${err.message}`);
    await device.queue.onSubmittedWorkDone();
  } finally {
    zeroCounts.destroy();
  }
}

