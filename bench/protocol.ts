// The messages between the bench runner (bench/main.ts) and a system's child (bench/child.ts),
// over Node's IPC channel: one request at a time, each answered with its id.
import type { Precision } from './rows.js';

export type ChildRequest =
  | { readonly id: number; readonly op: 'start' }
  | { readonly id: number; readonly op: 'load'; readonly workload: string; readonly precision: Precision; readonly warmup: number }
  | { readonly id: number; readonly op: 'trial'; readonly workload: string; readonly precision: Precision; readonly runs: number }
  | { readonly id: number; readonly op: 'unload'; readonly workload: string; readonly precision: Precision }
  | { readonly id: number; readonly op: 'close' };

/** Distributes Omit over the union, so a request can be written without its id. */
export type RequestBody = ChildRequest extends infer R ? (R extends ChildRequest ? Omit<R, 'id'> : never) : never;

export type ChildResponse = { readonly id: number; readonly value: unknown } | { readonly id: number; readonly error: string };
