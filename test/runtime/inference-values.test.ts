import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/runtime/index.js';
import { useGpu } from '../helpers/gpu.js';
import { seeded } from '../helpers/seeded.js';

// Silero VAD, as its users run it through ONNX Runtime's API: chunks of audio with the recurrent
// state carried from one run to the next, and the sample rate an int64 input. Its sample rate
// picks an If branch made for that rate's chunk length (the other branch does not fit the chunk),
// so kiln compiles the rate in, one set of programs per rate fed. Every answer is ONNX Runtime's.

const VAD = (file: string) => fileURLToPath(new URL(`../../node_modules/@ricky0123/vad-web/dist/${file}`, import.meta.url));

/** The chunks fed: [samples, sample rate], switching rates as an app serving two sources does. */
const STREAM: readonly [number, bigint][] = [[512, 16000n], [512, 16000n], [256, 8000n], [256, 8000n], [512, 16000n]];

describe('InferenceSession on a model whose inputs decide what compiles', () => {
  const gpu = useGpu();

  for (const [file, state] of [['silero_vad_v5.onnx', { state: [2, 1, 128] }], ['silero_vad_legacy.onnx', { h: [2, 1, 64], c: [2, 1, 64] }]] as const) {
    it(`runs ${file} over a stream at 16 and 8 kHz, the rate compiled in, as ONNX Runtime does`, async () => {
      const bytes = new Uint8Array(await readFile(VAD(file)));
      const cache = await mkdtemp(join(tmpdir(), 'kiln-values-'));
      const session = await InferenceSession.create(bytes, { device: gpu(), compileCache: cache });
      const reference = await ort.InferenceSession.create(bytes);
      const names = Object.keys(state);
      const zeros = (T: typeof Tensor | typeof ort.Tensor) => Object.fromEntries(Object.entries(state).map(([n, dims]) => [n, new T('float32', new Float32Array(dims.reduce((a: number, b: number) => a * b, 1)), [...dims])]));
      let [kState, oState] = [zeros(Tensor), zeros(ort.Tensor)];
      try {
        // Metadata as ORT gives it: the int64 rate as 'int64', dimensions without a symbol as ''.
        const meta = (ms: readonly unknown[]) => ms.map((m) => { const { name, isTensor, type, shape } = m as Record<string, unknown>; return { name, isTensor, type, shape }; });
        expect(meta(session.inputMetadata)).toEqual(meta(reference.inputMetadata));
        expect(meta(session.outputMetadata)).toEqual(meta(reference.outputMetadata));
        for (const [i, [n, rate]] of STREAM.entries()) {
          const audio = seeded(n, 30 + i).map((v) => 0.3 * v);
          const sr = BigInt64Array.from([rate]);
          const got = await session.run({ input: new Tensor('float32', audio, [1, n]), sr: new Tensor('int64', sr, []), ...kState });
          const want = await reference.run({ input: new ort.Tensor('float32', audio, [1, n]), sr: new ort.Tensor('int64', sr, []), ...oState });
          for (const name of reference.outputNames) {
            expect(got[name]!.dims, `${name} at chunk ${i}`).toEqual(want[name]!.dims);
            const [a, b] = [got[name]!.data as Float32Array, want[name]!.data as Float32Array];
            let worst = 0;
            for (let k = 0; k < b.length; k++) worst = Math.max(worst, Math.abs(a[k]! - b[k]!));
            expect(worst, `${name} at chunk ${i} (${n} samples at ${rate} Hz)`).toBeLessThan(1e-4);
          }
          // The state carried on, as Silero's users feed it back.
          kState = Object.fromEntries(names.map((k, j) => [k, got[reference.outputNames[j + 1]!]!]));
          oState = Object.fromEntries(names.map((k, j) => [k, want[reference.outputNames[j + 1]!]!]));
        }
        // The rate is compiled in: the program takes no 'sr', though the session still does.
        expect(session.manifest.inputs.map((t) => t.name)).not.toContain('sr');
        // A program per rate (v5's first compile asks for the rate; the legacy model's first, fixed
        // one imports without it, and a third compiles 16 kHz again once the rate is known).
        expect((await readdir(cache)).length).toBe(file.includes('legacy') ? 3 : 2);
      } finally {
        await session.release();
        await reference.release();
      }
    }, 120_000);
  }
});
