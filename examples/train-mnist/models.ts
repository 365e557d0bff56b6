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

/**
 * The LeNet-like CNN with batch norm after each convolution and dropout before each linear
 * layer. The convolutions carry no bias: the batch norm after each one would subtract it again.
 */
export function bncnn(): nn.Module {
  return new nn.Sequential(
    new nn.Conv2d(1, 16, 5, { bias: false }), new nn.BatchNorm2d(16), new nn.ReLU(), new nn.MaxPool2d(2), // 16 x 12 x 12
    new nn.Conv2d(16, 32, 5, { bias: false }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2), // 32 x 4 x 4
    new nn.Flatten(), new nn.Dropout(0.25), new nn.Linear(512, 128), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(128, 10),
  );
}
