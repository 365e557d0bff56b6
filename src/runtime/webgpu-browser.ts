// Stands in for the `webgpu` npm package (Dawn for Node) in a browser bundle of `kiln/runtime`:
// alias the package to this file (e.g. esbuild `--alias:webgpu=kiln/dist/src/runtime/webgpu-browser.js`,
// or an import map entry). device.ts then gets the page's own WebGPU (`navigator.gpu`) as its GPU
// instance, and the GPU* globals (GPUBufferUsage, GPUMapMode, ...) are the browser's already.

/** The page's WebGPU entry point, in place of Dawn's `create(flags)`. */
export function create(_flags?: readonly string[]): GPU {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) {
    throw new Error('this browser has no WebGPU (navigator.gpu is undefined): use a browser with WebGPU enabled, over https or localhost');
  }
  return gpu;
}

/** Nothing to install: a browser defines the GPU* globals itself. */
export const globals: Record<string, unknown> = {};
