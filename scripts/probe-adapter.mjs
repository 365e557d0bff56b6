// Prints the WebGPU adapter Dawn finds, as one JSON line; exits 1 when there is none.
// Plain JavaScript so that setup can run it before the TypeScript build.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.log(JSON.stringify({ found: false }));
  process.exit(1);
}
const info = adapter.info ?? {};
console.log(JSON.stringify({
  found: true,
  vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
  features: [...adapter.features].sort(),
}));
// Dawn can crash at exit while its instance is still referenced; leave promptly and deliberately.
process.exit(0);
