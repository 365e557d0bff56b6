// Every ONNX op family registers its mapping functions on import; this file loads them all.
import './elementwise.js';
import './matmul.js';
import './conv.js';
import './norm.js';
import './attention.js';
import './flex-attention.js';
import './linear-attention.js';
import './transformer.js';
import './lp-lrn.js';
import './reduce.js';
import './shape.js';
import './resize.js';
import './constant.js';
import './control-flow.js';
