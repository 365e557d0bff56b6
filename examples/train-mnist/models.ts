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
 * A CNN with batch norm and dropout: two blocks of two 3x3 convolutions (each followed by batch
 * norm and ReLU) and a max pool, then dropout before each linear layer. The convolutions carry no
 * bias: the batch norm after each one subtracts it again.
 */
export function bncnn(): nn.Module {
  const block = (inC: number, outC: number) => [
    new nn.Conv2d(inC, outC, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(outC), new nn.ReLU(),
    new nn.Conv2d(outC, outC, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(outC), new nn.ReLU(),
    new nn.MaxPool2d(2),
  ];
  return new nn.Sequential(
    ...block(1, 16), // 16 x 14 x 14
    ...block(16, 32), // 32 x 7 x 7
    new nn.Flatten(), new nn.Dropout(0.25), new nn.Linear(32 * 7 * 7, 128), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(128, 10),
  );
}
