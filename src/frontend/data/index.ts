// kiln.data: datasets, samplers, collation and the DataLoader, as PyTorch's torch.utils.data.
export { Dataset, TensorDataset } from './dataset.js';
export {
  SequentialSampler, RandomSampler, SubsetRandomSampler, BatchSampler, randomPermutation,
  type Sampler, type Sized, type RandomSamplerOptions,
} from './sampler.js';
export { DistributedSampler, type DistributedSamplerOptions } from './distributed-sampler.js';
export { defaultCollate, defaultConvert, type Collated } from './collate.js';
export { DataLoader, type DataLoaderOptions } from './data-loader.js';
export type { WorkerRecipe } from './worker-recipe.js';
export type { WorkerOptions } from './worker-options.js';
export type { WorkerInfo } from './worker-main.js';
