// `kiln.nn.utils`, as `torch.nn.utils`.
export { clipGradNorm_, clipGradValue_ } from './grad-utils.js';
