import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TensorData } from '../../src/ir/tensor-data.js';
import { packArtifact } from '../../src/artifact-writer/pack.js';
import { saveArtifact } from '../../src/artifact-writer/folder.js';
import { InferenceSession } from '../../src/runtime/inference-session.js';
import { runOnCpu } from '../../src/runtime/cpu/executor.js';
import { create as webgpuCreate } from 'webgpu';
import { hasGpu } from '../helpers/gpu.js';
import { tempDir, tinyGraph, tinyInputs, tinyProgram } from './artifact-fixture.js';

// The path a browser bundle takes, exercised in Node: `webgpu` (Dawn) replaced by the browser
// shim, which finds WebGPU at navigator.gpu (here Dawn's instance, put where a browser has it);
// artifacts fetched over HTTP; the session acquiring and releasing its own device.
vi.mock('webgpu', async () => {
  const dawn = await vi.importActual<typeof import('webgpu')>('webgpu');
  Object.assign(globalThis, dawn.globals); // a browser defines the GPU* globals itself
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true });
  const shim = await import('../../src/runtime/webgpu-browser.js');
  return { ...shim, create: vi.fn(shim.create) };
});

const bytesOf = (t: TensorData) => Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));

describe('runtime-only path as a browser takes it', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let fetched: string[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    await saveArtifact(join(dir, 'tiny.kiln'), tinyProgram().program);
    // A static file server on 127.0.0.1, as a page would be served.
    server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname));
      fetched.push(path);
      readFile(join(dir, path)).then(
        (body) => res.end(body),
        () => { res.statusCode = 404; res.end('not found'); },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches an artifact over HTTP, runs it on a device it owns, and releases the device', async (ctx) => {
    if (!(await hasGpu())) ctx.skip('no WebGPU adapter');
    const inputs = tinyInputs();
    fetched = [];
    const session = await InferenceSession.create(`${base}/tiny.kiln`);
    let out: Record<string, TensorData>;
    try {
      expect(fetched[0]).toBe('/tiny.kiln/manifest.json');
      expect(fetched.slice(1).sort()).toEqual(['/tiny.kiln/weights.bin', ...(await packArtifact(tinyProgram().program)).manifest.variants[0]!.program!.kernels.map((k) => `/tiny.kiln/${k.file}`)].sort());
      out = await session.run(inputs);
    } finally {
      await session.release();
    }
    expect(session.device.isLost).toBe(true); // its own device, destroyed by release()
    // The device came through the browser shim (navigator.gpu), not Dawn's create().
    expect(vi.mocked(webgpuCreate)).toHaveBeenCalled();
    expect(vi.mocked(webgpuCreate).mock.results[0]!.value).toBe((globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu);
    const ref = runOnCpu(tinyGraph(), inputs);
    for (const name of ['y', 'p']) {
      const got = Array.from(out[name]!.data);
      const want = Array.from(ref[name]!.data);
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    }

    // The same artifact from files in memory gives the same bits.
    const again = await InferenceSession.fromFiles(await packArtifact(tinyProgram().program));
    try {
      const out2 = await again.run(inputs);
      expect(bytesOf(out2['p']!)).toEqual(bytesOf(out['p']!));
    } finally {
      await again.release();
    }
  });

  it('names the URL when a file cannot be fetched', async () => {
    await expect(InferenceSession.create(`${base}/nothing.kiln/`)).rejects.toThrow(
      new RegExp(`cannot fetch ${base}/nothing\\.kiln/manifest\\.json: HTTP 404`),
    );
  });
});
