import type { Graph, Value } from '../ir/graph.js';
import { f32ToF16Bits } from '../ir/f16.js';
import { getOp } from '../ir/ops/index.js';
import { tensorData, type TensorData } from '../ir/tensor-data.js';
import type { DType } from '../ir/types.js';
import type { Pass } from './pass.js';
import { GraphRebuilder } from './rebuild.js';
import { attrsOf } from '../ir/attrs.js';
import { castAttrs } from '../ir/ops/cast.js';
import { constValue } from '../ir/ops/source.js';

/** f32 weights to f16 bits, rounding to nearest even; reports values that overflow to infinity. */
function toF16(t: TensorData, name: string, log?: (m: string) => void): TensorData {
  const src = t.data as Float32Array;
  const bits = new Uint16Array(src.length);
  let overflow = 0;
  for (let i = 0; i < src.length; i++) {
    bits[i] = f32ToF16Bits(src[i]!);
    if ((bits[i]! & 0x7fff) === 0x7c00 && Number.isFinite(src[i]!)) overflow++;
  }
  if (overflow) log?.(`warning: lower-fp16: ${overflow} value(s) of constant ${name} overflow f16 and become infinite`);
  return tensorData('f16', t.shape, bits);
}

/** Options of the lowering: graph inputs and outputs stay f32 unless `io` is 'f16'. */
export interface Fp16Options {
  readonly io?: 'f32' | 'f16';
}

/**
 * Stores and computes floats in f16. Weights are converted on the host once; ops whose
 * precision policy is 'f32' (softmax, normalisation, exp/log) compute in f32 between explicit
 * casts; matmul, conv and reductions accumulate in f32 inside their kernels. Each value gets at
 * most one cast per dtype, made where it is first needed, so no cast pair cancels out.
 */
export function lowerFp16(opts: Fp16Options = {}): Pass {
  return {
    name: 'lower-fp16',
    description: 'store and compute floats in f16, keeping range-sensitive ops in f32',
    run(g: Graph, ctx): Graph {
      const io = opts.io ?? 'f32';
      const b = new GraphRebuilder(g, (v) => (v.type.dtype === 'f32' && io === 'f16' ? { ...v.type, dtype: 'f16' } : v.type));
      // Every old value's versions in the new graph, by dtype.
      const versions = new Map<Value, Map<DType, Value>>();
      const remember = (old: Value, v: Value) => {
        let m = versions.get(old);
        if (!m) versions.set(old, (m = new Map()));
        m.set(v.type.dtype, v);
      };
      for (const v of g.inputs) remember(v, b.get(v));
      const as = (old: Value, dtype: DType): Value => {
        const m = versions.get(old)!;
        const hit = m.get(dtype);
        if (hit) return hit;
        const src = constValue(old);
        const have = [...m.values()][0]!;
        const v = src && dtype === 'f16' && src.dtype === 'f32'
          ? b.add('const', [], { value: toF16(src, old.name, ctx.log) }, have.type.device).output
          : b.add('cast', [have], { to: dtype }, have.type.device).output;
        m.set(dtype, v);
        return v;
      };
      const isFloat = (d: DType) => d === 'f32' || d === 'f16';
      // Outputs that end in a cast give their name to the cast, so run() results keep their names.
      const castOutputs = new Set(g.outputs.filter((v) => isFloat(v.type.dtype) && v.producer));
      for (const n of g.nodes) {
        if (n.op === 'const') {
          const v = b.copy(n).output;
          remember(n.output, v);
          continue;
        }
        // A cast into a narrow format (bfloat16, float8) rounds from f32, which holds its range.
        const keepF32 = getOp(n.op).spec.precision === 'f32' || (n.op === 'cast' && n.attrs.format !== undefined);
        const want: DType = keepF32 ? 'f32' : 'f16';
        const inputs = n.inputs.map((v) => (isFloat(v.type.dtype) ? as(v, want) : as(v, v.type.dtype)));
        // A cast to a float type follows the lowering; other attributes are kept.
        const to = n.op === 'cast' ? attrsOf(n, castAttrs).to : undefined;
        const attrs = to === 'f32' || to === 'f16' ? { ...n.attrs, to: want } : n.attrs;
        const names = n.outputs.some((o) => castOutputs.has(o)) ? undefined : n.outputs.map((o) => o.name);
        const node = b.add(n.op, inputs, attrs, n.outputs[0]?.type.device, names);
        n.outputs.forEach((o, i) => remember(o, node.outputs[i]!));
      }
      g.outputs.forEach((v) => b.replace(v, isFloat(v.type.dtype) ? as(v, io) : as(v, v.type.dtype)));
      return b.finish();
    },
  };
}
