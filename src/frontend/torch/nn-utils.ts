// `kiln.nn.utils`, as `torch.nn.utils`.
export { clipGradNorm_ } from './grad-utils.js';
