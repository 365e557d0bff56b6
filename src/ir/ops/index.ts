// Every op family registers itself on import; this file is the one place that loads them all.
import './source.js';
import './elementwise.js';
import './reduce.js';
import './matmul.js';
import './movement.js';

export * from './registry.js';
