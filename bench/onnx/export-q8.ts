// The bench's 8-bit weights as ONNX Runtime's dynamic quantization writes them (quantize_dynamic,
// per channel, QInt8: the `_quantized` models Transformers.js ships are made so): a traced
// Linear's matmul (x @ transpose(W [N, K])) becomes DynamicQuantizeLinear of x (uint8, a scale
// and zero point per run), MatMulInteger of that and W's int8 codes [K, N] (symmetric, a scale a
// column, zero points 0), then the int32 product cast to float and scaled by x's scale times W's.
import type { TensorData } from '../../src/ir/tensor-data.js';
import type { OnnxModelBuilder } from './onnx-writer.js';

/** Emits x @ W^T, W [N, K] quantized to int8 a column (of W^T) at a time, as the four ONNX nodes above. */
export function emitDynamicQuantized(b: OnnxModelBuilder, w: TensorData, x: string, outs: string[]): void {
  const [n, k] = w.shape as [number, number];
  const src = w.data as Float32Array;
  const codes = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let max = 0;
    for (let c = 0; c < k; c++) max = Math.max(max, Math.abs(src[r * k + c]!));
    const scale = max / 127 || 1;
    scales[r] = scale;
    for (let c = 0; c < k; c++) codes[c * n + r] = Math.round(src[r * k + c]! / scale);
  }
  const name = b.fresh('q8');
  const wq = b.initializer(`${name}_w`, { dtype: 'i8', shape: [k, n], data: codes });
  const ws = b.initializer(`${name}_s`, { dtype: 'f32', shape: [n], data: scales });
  const wz = b.initializer(`${name}_z`, { dtype: 'i8', shape: [n], data: new Int8Array(n) });
  const [xq, xs, xz] = b.node('DynamicQuantizeLinear', [x], 3) as [string, string, string];
  const [product] = b.node('MatMulInteger', [xq, wq, xz, wz]);
  const [floats] = b.node('Cast', [product!], 1, { to: { int: 1 } });
  const [scale] = b.node('Mul', [xs, ws]);
  b.node('Mul', [floats!, scale!], outs);
}
