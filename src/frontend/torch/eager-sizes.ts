import { getOp } from '../../ir/ops/index.js';
import { dMul, sizeVar, type Dim } from '../../ir/size-expr.js';
import type { DType, Shape } from '../../ir/types.js';

// How an eager op's operands become symbolic: each extent that may vary is a size variable, so
// that one Program serves every shape of the same form. The form (what the key of the Program
// holds) is only what a kernel's correctness or choice depends on: the operands' ranks, which
// extents are 1 (broadcasting reads them as such), which extents are equal where the op relates
// them, a divisibility the kernel exploits, and a size class bounding the extents.

/** An operand's dtype and concrete shape. */
export interface OperandShape {
  readonly dtype: DType;
  readonly shape: Shape;
}

/** The form's text, the values its size variables take for these shapes, and the operands' symbolic extents. */
export interface SymbolicOperands {
  readonly key: string;
  readonly sizes: ReadonlyMap<string, number>;
  /** Built when the form's program is generated: eager ops look their program up by `key` alone. */
  dims(): readonly (readonly Dim[])[];
}

/**
 * Which extents share a size variable:
 * - 'columns': extents in one broadcast column (aligned from the last dimension) that are equal,
 *   as elementwise ops, reductions, transposes and concatenations relate them;
 * - 'matmul': batch dimensions by column, and A's columns with B's rows (K); B's columns (N) a
 *   multiple of 4 where they are, for the kernel that loads four of them at once;
 * - 'values': every pair of equal extents, anywhere: the most specific form, for ops relating
 *   extents some other way (a form too loose for the op is refused by its shape inference).
 */
export type SizeSharing = 'columns' | 'matmul' | 'values';

/** The sharings to try for `op`, most general first. */
export function sharingsOf(op: string): readonly SizeSharing[] {
  return op === 'matmul' ? ['matmul', 'values'] : ['columns', 'values'];
}

/**
 * Ops whose kernel variant codegen picks from the sizes (one lane or one workgroup per row of a
 * reduction, chooseReduceVariant), judging a range of sizes by its largest: a range as wide as a
 * rank's would pick one variant for every size, up to 3x slower where the other suits (a row sum
 * of [16,4096]). Their extents each get their power-of-two class instead (e.g. 2049..4096), so
 * the choice is within 2x of the one their sizes would get, at one program per class.
 */
export function sizeClassed(op: string): boolean {
  return getOp(op).spec.reduce !== undefined || ROW_KERNEL_OPS.has(op);
}
const ROW_KERNEL_OPS = new Set(['softmax', 'log_softmax', 'layer_norm']);

/**
 * log2 of the elements a tensor may hold at the largest sizes of its form: kernels index in 32
 * bits and sizes, strides and workgroup counts are checked to fit at the largest sizes, so an
 * extent of a rank-r operand ranges up to 2^floor(28 / r) (rank 2: 16384; rank 4: 128), or to
 * the power of two above it where it is larger (a size class of its own, in the key).
 */
const LOG2_ELEMENTS = 28;

/**
 * The symbolic operands of `op` under `sharing`, or undefined where nothing can vary (every
 * extent is 1) or a tensor is empty (zero extents take no kernel to run; the fixed program
 * handles them), or the sharing does not apply.
 */
export function symbolicOperands(inputs: readonly OperandShape[], sharing: SizeSharing, classed = false): SymbolicOperands | undefined {
  const shapes = inputs.map((t) => t.shape);
  if (shapes.some((s) => s.includes(0)) || shapes.every((s) => s.every((d) => d === 1))) return undefined;
  if (sharing === 'matmul' && (shapes.length !== 2 || shapes.some((s) => s.length < 2))) return undefined;
  const rank = Math.max(...shapes.map((s) => s.length));
  const base = 2 ** Math.floor(LOG2_ELEMENTS / rank);
  const vars = new Map<string, { name: string; value: number; multipleOf4: boolean }>();
  const sizes = new Map<string, number>();
  const varFor = (group: string, value: number, multipleOf4 = false): string => {
    const id = `${group}:${value}`;
    let v = vars.get(id);
    if (!v) vars.set(id, (v = { name: `s${vars.size}`, value, multipleOf4 }));
    return v.name;
  };
  // Each operand's extents as variable names (or 1), by the sharing's grouping.
  const names = shapes.map((s, i) => s.map((d, k) => {
    if (d === 1) return undefined;
    const column = s.length - k;
    if (sharing === 'values') return varFor('', d);
    if (sharing === 'matmul') {
      if (column > 2) return varFor(`c${column}`, d);
      if (i === 0) return varFor(column === 2 ? 'M' : 'K', d);
      return column === 2 ? varFor('K', d) : varFor('N', d, d % 4 === 0);
    }
    return varFor(`c${column}`, d);
  }));
  // A variable's text in the key: its name, its size class (where it has one beyond the rank's
  // range), and `%4`.
  const declared = new Map<string, { min: number; cap: number; multipleOf4: boolean; text: string }>();
  for (const v of vars.values()) {
    const class2 = 2 ** Math.ceil(Math.log2(v.value));
    const cap = classed ? class2 : Math.max(base, class2);
    const min = classed ? Math.max(2, cap / 2 + 1) : 2;
    const range = classed ? `:${min}..${cap}` : cap > base ? `<=${cap}` : '';
    declared.set(v.name, { min, cap, multipleOf4: v.multipleOf4, text: `${v.name}${range}${v.multipleOf4 ? '%4' : ''}` });
    sizes.set(v.name, v.multipleOf4 ? v.value / 4 : v.value);
  }
  const forms = names.map((ns, i) => `${inputs[i]!.dtype}[${ns.map((n) => (n === undefined ? '1' : declared.get(n)!.text)).join(',')}]`);
  const extent = (n: string): Dim => {
    const { min, cap, multipleOf4 } = declared.get(n)!;
    return multipleOf4 ? dMul(4, sizeVar(n, 1, cap / 4)) : sizeVar(n, min, cap);
  };
  return { key: `${sharing}(${forms.join(',')})`, sizes, dims: () => names.map((ns) => ns.map((n) => (n === undefined ? 1 : extent(n)))) };
}
