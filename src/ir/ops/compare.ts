// Ops that make or consume bool masks: comparisons, logical connectives, where, NaN and inf tests.
// bool is u32 0/1 on the device (the WGSL expressions below give WGSL bools, which the
// elementwise emitter converts with u32(...)) and 0/1 on the host.
import { OpTypeError } from '../errors.js';
import { formatShapeType, isFloat } from '../types.js';
import { defineOp, type ElementwiseMath, type OpSpec } from './registry.js';
import { broadcastShapes, sameDType } from './shape-util.js';

/**
 * Comparisons are IEEE's: NaN compares false, except that it is not equal to anything. Equality
 * also takes string operands (host-only; the CPU reference compares the strings as they are).
 */
function defineComparison(name: string, wgsl: (a: string, b: string) => string, cpu: (a: number, b: number) => boolean, strings = false): void {
  defineOp({
    name, kind: 'elementwise', inputs: 2, ...(strings ? { strings: true } : {}),
    math: { cpu: ([a, b]) => (cpu(a!, b!) ? 1 : 0), wgsl: ([a, b]) => wgsl(a!, b!) },
    infer: (ins) => {
      sameDType(ins);
      return [{ dtype: 'bool', shape: broadcastShapes(ins.map((t) => t.shape)) }];
    },
  });
}

const infix = (op: string) => (a: string, b: string) => `(${a} ${op} ${b})`;
defineComparison('equal', infix('=='), (a, b) => a === b, true);
// Not `a != b`: backends compile that as an ordered comparison (1 != NaN gives false on lavapipe).
defineComparison('not_equal', (a, b) => `!(${a} == ${b})`, (a, b) => a !== b, true);
defineComparison('less', infix('<'), (a, b) => a < b);
defineComparison('less_equal', infix('<='), (a, b) => a <= b);
defineComparison('greater', infix('>'), (a, b) => a > b);
defineComparison('greater_equal', infix('>='), (a, b) => a >= b);

/** WGSL truthiness of an operand of WGSL type `t` (nonzero, as PyTorch's logical ops read numbers). */
const truthy = (x: string, t: string) => `(${x} != ${t}(0))`;

/** Logical ops take operands of any dtypes, read as truthiness, like torch.logical_and. */
function defineLogical(name: string, arity: 1 | 2, cpu: (xs: boolean[]) => boolean, wgsl: (xs: string[]) => string): void {
  defineOp({
    name, kind: 'elementwise', inputs: arity,
    math: {
      cpu: (xs) => (cpu(xs.map((x) => x !== 0)) ? 1 : 0),
      wgsl: (xs, _, __, inTypes) => wgsl(xs.map((x, k) => truthy(x, inTypes[k]!))),
    },
    infer: (ins) => [{ dtype: 'bool', shape: broadcastShapes(ins.map((t) => t.shape)) }],
  });
}

defineLogical('logical_and', 2, ([a, b]) => a! && b!, ([a, b]) => `(${a} && ${b})`);
defineLogical('logical_or', 2, ([a, b]) => a! || b!, ([a, b]) => `(${a} || ${b})`);
defineLogical('logical_not', 1, ([a]) => !a, ([a]) => `!${a}`);

/** where(cond, a, b): a where cond is true, else b; all three broadcast together. */
defineOp({
  name: 'where', kind: 'elementwise', inputs: 3,
  math: {
    cpu: ([c, a, b]) => (c ? a! : b!),
    wgsl: ([c, a, b]) => `select(${b}, ${a}, ${c} != 0u)`,
  },
  infer: ([c, a, b]) => {
    if (c!.dtype !== 'bool') throw new OpTypeError(`condition must be bool, got ${formatShapeType(c!.dtype, c!.shape)} (compare it, or cast it to bool)`);
    const dtype = sameDType([a!, b!]);
    return [{ dtype, shape: broadcastShapes([c!.shape, a!.shape, b!.shape]) }];
  },
});

/** The WGSL u32 bits of a float operand of WGSL type `t` as f32 (f16 widened first: NaN and inf stay). */
const f32Bits = (x: string, t: string) => `bitcast<u32>(${t === 'f16' ? `f32(${x})` : x})`;

function defineFloatTest(name: string, math: Pick<ElementwiseMath, 'cpu' | 'wgsl' | 'helpers'>, attrs?: OpSpec['attrs']): void {
  defineOp({
    name, kind: 'elementwise', inputs: 1, math, ...(attrs ? { attrs } : {}),
    // Under fp16 lowering an f32 operand is tested as it is: a cast to f16 would make 1e5 infinite.
    precision: 'f32',
    infer: ([x]) => {
      if (!isFloat(x!.dtype)) throw new OpTypeError(`needs a float input, got ${x!.dtype}`);
      return [{ dtype: 'bool', shape: x!.shape }];
    },
  });
}

// kiln_isnan tests the bits: WGSL lets compilers assume no NaN, so x != x may fold to false.
defineFloatTest('is_nan', {
  cpu: ([x]) => (Number.isNaN(x!) ? 1 : 0),
  wgsl: ([x], _, __, [t]) => `kiln_isnan_${t}(${x})`,
  helpers: (_, [t]) => [`kiln_isnan_${t}`],
});
/** is_inf: +inf where detect_positive, -inf where detect_negative (ONNX IsInf). */
defineFloatTest('is_inf', {
  cpu: ([x], _, a) => ((x === Infinity && a.detect_positive) || (x === -Infinity && a.detect_negative) ? 1 : 0),
  wgsl: ([x], _, a, [t]) => {
    const bits = f32Bits(x!, t!);
    if (a.detect_positive && a.detect_negative) return `((${bits} & 0x7fffffffu) == 0x7f800000u)`;
    if (a.detect_positive) return `(${bits} == 0x7f800000u)`;
    return a.detect_negative ? `(${bits} == 0xff800000u)` : 'false';
  },
}, { detect_positive: { kind: 'bool', default: true }, detect_negative: { kind: 'bool', default: true } });
