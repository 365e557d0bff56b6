// SHA-256 through WebCrypto, which Node 20 and every browser with WebGPU provide as a global: the
// runtime-only entry verifies artifacts without importing node:crypto.

/** Lower-case hex SHA-256 of `data` (a string is hashed as its UTF-8 bytes). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('WebCrypto (crypto.subtle) is not available: kiln needs Node 20+ or a browser page served over https or localhost');
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}
