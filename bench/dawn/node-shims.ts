// What the browser-made peers need to run on Dawn in Node (see bench/README.md, "What each peer
// needs in Node on Dawn"). Installed only in the peers' child processes; kiln needs none of it.
import { create, globals } from 'webgpu';
import { dawnClasses } from './dawn-classes.js';

// The GPU instance must outlive every device made from it (Dawn segfaults otherwise): keep it
// for the life of the process.
let instance: GPU | undefined;

/** Dawn's GPU instance, created once, with dawn.node's GPU* classes installed as globals. */
export function dawnGpu(): GPU {
  if (!instance) {
    Object.assign(globalThis, globals);
    instance = create([]);
  }
  return instance;
}

/**
 * Gives the process a browser-like `navigator.gpu` (Dawn's). Node 21+ defines `navigator` as a
 * getter-only global, so it is (re)defined rather than assigned.
 */
export function installNavigatorGpu(): void {
  const gpu = dawnGpu();
  const existing = (globalThis as { navigator?: object }).navigator;
  const value = Object.create(existing ?? null, {
    gpu: { value: gpu, enumerable: true },
    userAgent: { value: (existing as { userAgent?: string } | undefined)?.userAgent ?? `Node.js/${process.versions.node}`, enumerable: true },
  }) as object;
  Object.defineProperty(globalThis, 'navigator', { value, configurable: true, writable: true, enumerable: true });
}

type WriteData = Parameters<GPUQueue['writeBuffer']>[2];

let sharedCopies = 0;

/** How many writeBuffer calls had their SharedArrayBuffer data copied (see below). */
export function sharedWriteCopies(): number {
  return sharedCopies;
}

/**
 * onnxruntime-web's threaded wasm (Node 20) passes queue.writeBuffer views of its
 * SharedArrayBuffer heap, which dawn.node rejects or crashes on. Copy exactly the bytes that
 * would be written into a plain buffer first; other calls pass through untouched.
 */
export function copySharedWriteBufferData(): void {
  const proto = dawnClasses().GPUQueue.prototype;
  const original = proto.writeBuffer;
  if ((original as { kilnShared?: boolean }).kilnShared) return;
  const wrapped = function (this: GPUQueue, buffer: GPUBuffer, bufferOffset: number, data: WriteData, dataOffset?: number, size?: number): undefined {
    const isView = ArrayBuffer.isView(data);
    const backing = isView ? data.buffer : data;
    if (!(backing instanceof SharedArrayBuffer)) return original.call(this, buffer, bufferOffset, data, dataOffset, size);
    // For a typed array, dataOffset and size count elements; for a raw buffer, bytes.
    const element = isView && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
    const base = isView ? data.byteOffset : 0;
    const from = (dataOffset ?? 0) * element;
    const bytes = size !== undefined ? size * element : data.byteLength - from;
    const copy = new Uint8Array(bytes);
    copy.set(new Uint8Array(backing, base + from, bytes));
    sharedCopies++;
    return original.call(this, buffer, bufferOffset, copy, 0, bytes);
  };
  Object.defineProperty(wrapped, 'kilnShared', { value: true });
  proto.writeBuffer = wrapped as GPUQueue['writeBuffer'];
}
