import { nn } from '../../src/index.js';

/** 784 -> 256 -> 10 with ReLU. */
export function mlp(): nn.Module {
  return new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 10));
}

/** A LeNet-like CNN: two 5x5 convolutions with max pooling, then two linear layers. */
export function cnn(): nn.Module {
  return new nn.Sequential(
    new nn.Conv2d(1, 16, 5), new nn.ReLU(), new nn.MaxPool2d(2), // 16 x 12 x 12
    new nn.Conv2d(16, 32, 5), new nn.ReLU(), new nn.MaxPool2d(2), // 32 x 4 x 4
    new nn.Flatten(), new nn.Linear(512, 64), new nn.ReLU(), new nn.Linear(64, 10),
  );
}
