import { kernelTarget } from '../precision.js';
import { listAdapters } from '../runtime/device.js';

/**
 * The compile options that pick kernel variants for the default adapter (its class and optional
 * features), as the commands that compile a model for this machine use them; none where no
 * adapter is found (the lowering's defaults then).
 */
export async function defaultKernelTarget(): Promise<ReturnType<typeof kernelTarget> | undefined> {
  const adapter = (await listAdapters().catch(() => []))[0];
  return adapter ? kernelTarget(adapter, adapter.features, adapter.limits) : undefined;
}
