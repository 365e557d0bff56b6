// kiln.distributed: collectives, data-parallel training across worker threads, and the launcher,
// as torch.distributed (docs/distributed.md).
export { type Collectives, type ReduceOp } from './collectives.js';
export { InProcessGroup } from './in-process.js';
export { SharedMemoryGroup, createSharedMemoryGroup, type SharedMemoryGroupInit } from './shared-memory.js';
export { isInitialized, defaultGroup, getRank, getWorldSize, setDefaultGroup } from './process-group.js';
export { spawn, type SpawnOptions, type WorkerContext } from './launcher.js';
export { DistributedDataParallel, type DistributedDataParallelOptions } from './ddp.js';
export { ReplicaDriftError } from './replica-check.js';
