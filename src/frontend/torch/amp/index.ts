// `kiln.amp`, as `torch.amp`: autocast regions and dynamic loss scaling for mixed-precision
// training (float16 compute, float32 master weights).
export { autocast, isAutocastEnabled, type AutocastOptions } from './autocast.js';
export { GradScaler, type GradScalerOptions, type GradScalerStateDict } from './grad-scaler.js';
