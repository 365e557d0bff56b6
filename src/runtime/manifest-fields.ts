import { KilnError } from '../ir/errors.js';
import type { SizeWord } from './program.js';

// The checks manifest parsing is built from: each reads one JSON value, checks its structure and
// fails with an ArtifactError naming the field (so a damaged manifest never gives a TypeError).

/** An artifact that is malformed, corrupted or unusable on this device; never loaded. */
export class ArtifactError extends KilnError {
  override name = 'ArtifactError';
}

/** Paths inside an artifact: relative, plain characters, no `..`, so a manifest cannot point outside its folder. */
export function isSafeArtifactPath(p: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/.test(p);
}

/** Throws an ArtifactError about manifest.json. */
export const fail = (msg: string): never => {
  throw new ArtifactError(`manifest.json: ${msg}`);
};
export const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 60) ?? String(v));

export function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${path} must be an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}
export function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(`${path} must be a string, got ${show(v)}`);
  return v as string;
}
export function int(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`${path} must be a non-negative integer, got ${show(v)}`);
  return v as number;
}
export function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path} must be a number, got ${show(v)}`);
  return v as number;
}
export function arr<T>(v: unknown, path: string, each: (x: unknown, path: string) => T): T[] {
  if (!Array.isArray(v)) fail(`${path} must be an array, got ${show(v)}`);
  return (v as unknown[]).map((x, i) => each(x, `${path}[${i}]`));
}
export function file(v: unknown, path: string): string {
  const p = str(v, path);
  if (!isSafeArtifactPath(p)) fail(`${path} '${p}' is not a plain relative path inside the artifact`);
  return p;
}
export function sha(v: unknown, path: string): string {
  const s = str(v, path);
  if (!/^[0-9a-f]{64}$/.test(s)) fail(`${path} must be 64 lower-case hex digits (a SHA-256), got ${show(v)}`);
  return s;
}
export function onlyKnown(o: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  const unknown = Object.keys(o).filter((k) => !known.has(k));
  if (unknown.length) {
    fail(`${path} has field(s) ${unknown.map((k) => `'${k}'`).join(', ')} this runtime does not know: it was made by a newer kiln; load it with that version's runtime`);
  }
}

/** An object whose every value is a string (checked field by field). */
export function stringRecord(v: unknown, path: string): Record<string, string> {
  const o = obj(v, path);
  for (const [k, x] of Object.entries(o)) if (typeof x !== 'string') fail(`${path}.${k} must be a string, got ${show(x)}`);
  return o as Record<string, string>;
}

/** A word of a program compiled for a range of shapes: a number, or a size expression's text. */
export function word(x: unknown, path: string): SizeWord {
  return typeof x === 'string' ? str(x, path) : num(x, path);
}
