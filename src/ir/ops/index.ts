// Every op family registers itself on import; this file is the one place that loads them all.
import './source.js';
import './fused.js';
import './elementwise.js';
import './compare.js';
import './cast.js';
import './reduce.js';
import './matmul.js';
import './movement.js';
import './concat-split.js';
import './slice-pad.js';
import './gather.js';
import './resize.js';
import './softmax.js';
import './norm.js';
import './gemm.js';
import './conv.js';
import './pool.js';
import './conv-backward.js';
import './pool-backward.js';
import './linear-attention.js';

export * from './registry.js';
