// What an adapter says about itself, and what follows from it, without loading Dawn: the
// compiler's kernel and precision choices read it as the runtime's device does.

/** What the adapter says about itself. */
export interface AdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
}

/** Whether an adapter is a CPU emulation (lavapipe, SwiftShader): f16 math is emulated there, measured slower than f32. */
export function isSoftware(a: Pick<AdapterInfo, 'architecture' | 'description'>): boolean {
  return a.architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(a.description);
}
