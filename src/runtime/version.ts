/**
 * The kiln version recorded in every artifact it writes (kept equal to package.json's version by
 * a test). A constant rather than a package.json read, so the runtime needs no file system.
 */
export const KILN_VERSION = '0.1.0';
