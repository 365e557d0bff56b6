// Random generators: their outputs depend on a generator's state (ONNX Runtime's, NumPy's), so no
// result kiln could compute would match another runtime's. Each is refused with that reason.
import { defineOnnxOp } from '../node.js';

for (const op of ['Bernoulli', 'RandomUniform', 'RandomUniformLike', 'RandomNormal', 'RandomNormalLike', 'Multinomial']) {
  defineOnnxOp(op, (n) => n.unsupported(`${op} draws random numbers; kiln compiles deterministic graphs only (no runtime's random stream, seeded or not, could be reproduced)`));
}
