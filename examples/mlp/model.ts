// A 2-layer MLP for 28x28 digits (784 -> 128 -> 10), batch of 8.
// `kiln ir dist/examples/mlp/model.js` and `kiln run dist/examples/mlp/model.js` load this file.
import { Linear, manualSeed, randn, ReLU, Sequential } from '../../src/frontend/torch/index.js';

manualSeed(42);
export const model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
export const exampleInputs = [randn([8, 784])];
