// Every ONNX op family registers its mapping functions on import; this file loads them all.
import './elementwise.js';
import './matmul.js';
import './conv.js';
import './norm.js';
import './reduce.js';
import './shape.js';
import './resize.js';
import './constant.js';
import './control-flow.js';
import './recurrent.js';
import './einsum.js';
import './sampling.js';
import './dft.js';
import './windows.js';
