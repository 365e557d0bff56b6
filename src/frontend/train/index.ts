// Training: losses, the compiled training step and the training loop (datasets and the
// DataLoader are in src/frontend/data; eager autograd and the optimizers live with the tensors,
// in src/frontend/torch).
export { crossEntropy, nllLoss, type ClassLossOptions, type Reduction } from './losses.js';
export { mseLoss } from './pointwise-losses.js';
export { compileTrainStep, TrainStep, type Batch, type LossFn, type StepResult, type TrainStepOptions } from './train-step.js';
export { trainLoop, type StepReport, type TrainLoopOptions } from './train-loop.js';
export { withState, type StateSpec } from './program-state.js';
