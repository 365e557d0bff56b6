export * from './types.js';
export * from './errors.js';
export * from './attrs.js';
export * from './tensor-data.js';
export * from './graph.js';
export * from './verify.js';
export * from './ops/index.js';
export { broadcastShapes, broadcastStrides, normalizeAxes } from './ops/shape-util.js';
export { reducedShape } from './ops/reduce.js';
export { transposePerm, resolveReshape } from './ops/movement.js';
export * from './printer.js';
export * from './f16.js';
// The parser is imported from './parser.js' directly, never re-exported here: it loads
// chevrotain, which the runtime (and AOT artifacts) must not pull in through this index.
