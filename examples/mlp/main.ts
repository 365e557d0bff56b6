// The demo: trace an MLP, print its IR, compile it to WebGPU kernels, run it on the adapter
// and compare with the CPU reference.
import { acquireDevice, compile, printGraph, runOnCpu, Session, trace } from '../../src/index.js';
import { exampleInputs, model } from './model.js';

const graph = trace(model, exampleInputs, { name: 'mlp' });
console.log('--- IR ---');
process.stdout.write(printGraph(graph));

const program = compile(graph);
const device = await acquireDevice();
try {
  console.log(`--- WebGPU ---\nadapter: ${device.describe()}`);
  console.log(`kernels: ${program.kernels.length} distinct, ${program.dispatches.length} dispatches per run`);
  const session = await Session.create(device, program);
  const x = exampleInputs[0]!.data;
  const { y } = await session.run({ x });
  const expected = runOnCpu(graph, { x }).y!;

  const rows = y!.shape[0]!;
  const cols = y!.shape[1]!;
  console.log(`output y: f32[${y!.shape.join(',')}]`);
  for (let r = 0; r < rows; r++) {
    const row = Array.from(y!.data.subarray(r * cols, (r + 1) * cols) as Float32Array, (v) => v.toFixed(4).padStart(8));
    console.log(`  [${row.join(' ')}]`);
  }
  let maxDiff = 0;
  for (let i = 0; i < y!.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(y!.data[i]! - expected.data[i]!));
  console.log(`max abs difference from the CPU reference: ${maxDiff.toExponential(3)} (${maxDiff < 1e-5 ? 'ok' : 'TOO LARGE'}, bound 1e-5)`);
  session.destroy();
  if (!(maxDiff < 1e-5)) process.exitCode = 1;
} finally {
  device.destroy();
}
