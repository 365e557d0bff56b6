import { OpTypeError } from '../errors.js';
import { packedHalves, packedWords } from '../quantize-int8.js';
import { numel } from '../types.js';
import { defineOp } from './registry.js';

/** dequantize_int8's attributes: the weight's shape and the axis its scales run along. */
export const dequantizeInt8Attrs = { shape: { kind: 'ints' }, axis: { kind: 'int' } } as const;

/**
 * dequantize_int8(packed: u32[ceil(n/4)], scales: f[C] | u32[ceil(C/2)]) {shape, axis}: the
 * float weight of `shape` whose element i is int8 value i of `packed` (four a word,
 * little-endian) times the scale of its index along `axis` (quantize-int8.ts). f32 or f16 scales
 * give a weight of their dtype; u32 scales hold f16 values two a word and give an f32 weight. The quantize-weights pass puts it between
 * a weight and the matmul, gemm or conv reading it; their kernels do it as they load the weight.
 */
defineOp({
  name: 'dequantize_int8', kind: 'opaque', inputs: 2,
  attrs: dequantizeInt8Attrs,
  infer: ([packed, scales], attrs) => {
    const shape = [...attrs.shape];
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new OpTypeError(`shape [${shape.join(',')}] is not a list of extents`);
    if (attrs.axis < 0 || attrs.axis >= shape.length) throw new OpTypeError(`axis ${attrs.axis} is out of range for shape [${shape.join(',')}]`);
    if (packed!.dtype !== 'u32' || packed!.shape.length !== 1 || packed!.shape[0] !== packedWords(numel(shape))) {
      throw new OpTypeError(`packed values must be u32[${packedWords(numel(shape))}] for shape [${shape.join(',')}], got ${packed!.dtype}[${packed!.shape.join(',')}]`);
    }
    const s = scales!;
    const channels = shape[attrs.axis]!;
    // f16 scales two a u32 word stand for an f32 weight.
    const length = s.dtype === 'u32' ? packedHalves(channels) : channels;
    if ((s.dtype !== 'f32' && s.dtype !== 'f16' && s.dtype !== 'u32') || s.shape.length !== 1 || s.shape[0] !== length) {
      throw new OpTypeError(`scales must be f32 or f16 [${channels}] (one per index of axis ${attrs.axis}) or u32[${packedHalves(channels)}] (f16 two a word), got ${s.dtype}[${s.shape.join(',')}]`);
    }
    return [{ dtype: s.dtype === 'f16' ? 'f16' : 'f32', shape }];
  },
});
