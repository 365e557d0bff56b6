import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The shipped declaration files must type-check in a consumer's project that checks libraries
// (skipLibCheck: false) and declares no ambient types of its own: every global they use (the
// WebGPU types) must come from a reference the declarations carry.

const ROOT = join(import.meta.dirname, '..');
const exec = promisify(execFile);

const CONSUMER = `
import { InferenceSession, Tensor, acquireDevice, type TensorInfo } from 'kiln/runtime';
import { compile, parseGraph, Session, randn, trace, nn, type Tensor as TraceTensor } from 'kiln';

export async function classify(bytes: Uint8Array, data: Float32Array): Promise<readonly number[]> {
  const session = await InferenceSession.create(bytes);
  const inputs: readonly TensorInfo[] = session.inputMetadata;
  const out = await session.run({ [inputs[0]!.name]: new Tensor('float32', data, [1, data.length]) });
  const first: Tensor = out[session.outputNames[0]!]!;
  await session.release();
  return first.dims;
}

export async function compiled(text: string): Promise<number> {
  const gpu = await acquireDevice();
  const raw: GPUDevice = gpu.device;
  const session = await Session.create(gpu, compile(parseGraph(text)));
  session.destroy();
  return raw.limits.maxBindGroups;
}

// The tensor's methods come from several declaration files (one per family): all must be seen.
export function traced(): number {
  const x: TraceTensor = randn([2, 3]);
  const y: TraceTensor = x.add(1).relu().reshape(3, 2).transpose(0, 1).sum({ dim: 0 }).softmax(0);
  return y.shape.length + trace(new nn.Linear(3, 2), [x]).nodes.length;
}
`;

describe('shipped type declarations', () => {
  it('type-check in a consumer project with skipLibCheck: false', async (ctx) => {
    if (!existsSync(join(ROOT, 'dist/src/index.d.ts'))) ctx.skip('dist/ not built (npm run build)');
    const dir = await mkdtemp(join(tmpdir(), 'kiln-consumer-'));
    await mkdir(join(dir, 'node_modules'));
    await symlink(ROOT, join(dir, 'node_modules', 'kiln'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: [] },
      files: ['main.ts'],
    }));
    await writeFile(join(dir, 'main.ts'), CONSUMER);
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const result = await exec('node', [tsc, '-p', dir], { cwd: dir }).then(() => ({ code: 0, out: '' }), (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }));
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);
});
