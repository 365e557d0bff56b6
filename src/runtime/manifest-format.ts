// Writing a manifest: its JSON layout (short lists and flat objects on one line) and the text
// its `sha256` is the hash of.
import type { ArtifactManifest } from './manifest.js';

/**
 * The text a manifest's `sha256` is the hash of: the parsed manifest without that field, as JSON
 * with every object's keys sorted, so layout and key order do not matter and any value does.
 */
export function manifestDigestText(manifest: ArtifactManifest): string {
  const { sha256: _sha, ...rest } = manifest;
  return JSON.stringify(rest, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/**
 * The manifest as JSON for people and diffs: nested objects indented, while a "flat" value (an
 * array of numbers, or an object of scalars and such arrays: one buffer, one dispatch) stays on
 * one line, so a schedule of thousands of dispatches reads one per line.
 */
export function formatManifest(manifest: ArtifactManifest): string {
  return `${formatJson(manifest, '')}\n`;
}

function isFlat(v: unknown): boolean {
  const scalar = (x: unknown) => x === null || typeof x !== 'object';
  if (scalar(v)) return true;
  if (Array.isArray(v)) return v.every(scalar);
  return Object.values(v as object).every((x) => scalar(x) || (Array.isArray(x) && x.every(scalar)));
}

function formatJson(v: unknown, indent: string): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const flat = isFlat(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (flat) return `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
    return `[\n${v.map((x) => inner + formatJson(x, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(v).filter(([, x]) => x !== undefined);
  if (entries.length === 0) return '{}';
  if (flat) return `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${formatJson(x, inner)}`).join(', ')} }`;
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${formatJson(x, inner)}`).join(',\n')}\n${indent}}`;
}
