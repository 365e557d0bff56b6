// Random generators: their outputs depend on a generator's state (ONNX Runtime's, NumPy's), so no
// result kiln could compute would match another runtime's. Each is refused with that reason.
import { defineOnnxOp } from '../node.js';

/** Ops whose mapping only refuses them, with the reason (so they are known, but not imported). */
export const RANDOM_OPS: readonly string[] = ['Bernoulli', 'RandomUniform', 'RandomUniformLike', 'RandomNormal', 'RandomNormalLike', 'Multinomial'];

for (const op of RANDOM_OPS) {
  defineOnnxOp(op, (n) => n.unsupported(`${op} draws random numbers; kiln compiles deterministic graphs only (no runtime's random stream, seeded or not, could be reproduced)`));
}
