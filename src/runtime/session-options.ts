import type { TensorData } from '../ir/tensor-data.js';
import type { DeviceTensor } from './device-tensor.js';
import type { WaitStrategy } from './gpu-wait.js';
import type { LoadStats } from './load.js';
import type { OutputArrays } from './read-outputs.js';

// What a Session is created and run with, and what it counts.

/**
 * What a session has created and done; steady-state runs change only `runs` and `submits`
 * (`submits` counts run() submits; the load-time warm-up submit is not one of them).
 */
export interface SessionStats extends LoadStats {
  runs: number;
  submits: number;
}

export interface SessionOptions {
  /** Prefix of GPU object labels (defaults to the program name). */
  readonly label?: string;
  /** How run() waits for the GPU (default 'sleep'; see GpuWaiter). */
  readonly wait?: WaitStrategy;
  /**
   * Encode the next run's commands as soon as a run is submitted, while the device computes it,
   * after the session's first run and after a run like the one before it (same input slot,
   * sizes and outputs read back); the next run then only uploads its inputs and submits
   * (default true; see run-commands.ts).
   */
  readonly encodeAhead?: boolean;
  /**
   * Dispatch every pipeline once with zero workgroups at load (default true): lavapipe compiles
   * a shader only when it is first dispatched, which would otherwise land in the first run
   * (measured: 16 kernels, first run 1.5-3.3 s without warm-up, 15 ms with it).
   */
  readonly warmup?: boolean;
  /**
   * Sets of device input buffers (default 1). With 2, `stage()` can upload the next run's inputs
   * while the current run is still queued (double buffering). Uploads are ordered on the device
   * queue, so a slot whose run was already submitted may be refilled at once.
   */
  readonly inputSlots?: number;
  /**
   * The deadline of each run in ms, from the call to its result (default 60000; 0 or Infinity: none).
   * A run past it rejects with a RunTimeoutError; the session stays usable (later runs wait on
   * the device for the late one to finish, each with its own deadline).
   */
  readonly runTimeoutMs?: number;
  /**
   * On device loss, load the program on a new device (which the session then owns) before the
   * next run, rather than fail every later run (default false). Runs on the lost device reject
   * with a DeviceLostError; state tensors (Program.state) restart from their initial values.
   */
  readonly recover?: boolean;
}

/** Options of one run. */
export interface RunOptions {
  /** This run's deadline in ms, instead of the session's runTimeoutMs. */
  readonly timeoutMs?: number;
  /**
   * Names of the outputs to read back (default: all). With an empty list nothing is copied to
   * the host; the run still resolves only once the device has finished it.
   */
  readonly outputs?: readonly string[];
  /**
   * Names of outputs to keep on the device: each comes back as a DeviceTensor in a buffer of its
   * own, not read back, for a later run to take as an input (a decoder's KV cache, step after
   * step). Not also in `outputs`.
   */
  readonly keep?: readonly string[];
  /**
   * Arrays to read outputs into, by name, instead of new ones (as PyTorch's `out=`): each of its
   * output's dtype (bool: Uint8Array, f16: Uint16Array bits) and element count. The output comes
   * back with the array as its data. A caller streaming runs can pass the same arrays each time:
   * a new array's memory is paid for at its first touch (see read-outputs.ts). Not in `keep`.
   */
  readonly into?: OutputArrays;
}

/** A run's outputs: read back as TensorData, or kept on the device (RunOptions.keep) as DeviceTensors. */
export type RunOutputs = Record<string, TensorData | DeviceTensor>;

/**
 * A run's inputs by name: host data (TensorData), or a DeviceTensor on the session's device (an
 * earlier run's kept output), copied on the device. Either's dtype and shape must match the input.
 */
export type SessionInputs = Readonly<Record<string, TensorData | DeviceTensor>>;
