import { isFloatCast } from './fusion.js';
import type { Node, Value } from './graph.js';
import { getOp } from './ops/index.js';
import { attrsOf } from './attrs.js';
import { transposeAttrs, transposePerm } from './ops/movement.js';
import { normalizeAxes } from './ops/shape-util.js';
import { dimsAgree } from './symbolic-shapes.js';
import { dimsOf } from './types.js';
import { dIsMultiple, type Dim } from './size-expr.js';
import { denseView, traceView } from './view.js';

/**
 * Scaled dot-product attention as graphs spell it: softmax(f(Q K^T)) V, where f is a chain of
 * elementwise ops over the scores (a scale, an additive or boolean mask). The fuse-attention pass
 * finds it and codegen's attention kernel reads it back from the fused body, both through here.
 */
export interface AttentionParts {
  /** matmul(Q, K^T): the scores. */
  readonly scores: Node;
  /** The elementwise ops from the scores to the softmax's input, in order (may be empty). */
  readonly chain: readonly Node[];
  readonly softmax: Node;
  /** A float cast of the probabilities before they weigh V (f16 graphs compute softmax in f32). */
  readonly cast?: Node;
  /** matmul(softmax, V): the result. */
  readonly out: Node;
}

/** Elementwise under plain broadcasting, one result. */
function isElementwise(n: Node): boolean {
  const spec = getOp(n.op).spec;
  return n.outputs.length === 1 && spec.math !== undefined && spec.operandStrides === undefined;
}

/**
 * The attention whose result `out` computes, or undefined. `onlyReader(v)` is v's single reader
 * (undefined when v has several or is a graph output): every intermediate must be read once, by
 * the next step, so computing them inside one kernel loses nothing.
 */
export function attentionAt(out: Node, onlyReader: (v: Value) => Node | undefined): AttentionParts | undefined {
  if (out.op !== 'matmul') return undefined;
  let probs = out.inputs[0]!;
  const cast = probs.producer && isFloatCast(probs.producer) && onlyReader(probs) === out ? probs.producer : undefined;
  if (cast) probs = cast.inputs[0]!;
  const softmax = probs.producer;
  if (softmax?.op !== 'softmax' || onlyReader(softmax.output) !== (cast ?? out)) return undefined;
  const rank = softmax.output.type.shape.length;
  if (rank < 2 || normalizeAxes([softmax.attrs.axis as number], rank)[0] !== rank - 1) return undefined;
  const scoreDims = dimsOf(softmax.output.type);
  const chain: Node[] = [];
  let reader = softmax;
  let cur = softmax.inputs[0]!;
  while (cur.producer && cur.producer.op !== 'matmul') {
    const n = cur.producer;
    if (!isElementwise(n) || onlyReader(cur) !== reader || !dimsAgree(dimsOf(n.output.type), scoreDims)) return undefined;
    // The chain continues through the one operand computed from the scores.
    const next = n.inputs.filter((v) => v.producer && v.producer.op !== 'const' && dimsAgree(dimsOf(v.type), scoreDims) && !chain.includes(v.producer));
    if (next.length !== 1) return undefined;
    chain.unshift(n);
    reader = n;
    cur = next[0]!;
  }
  const scores = cur.producer;
  if (!scores || onlyReader(scores.output) !== reader) return undefined;
  return { scores, chain, softmax, ...(cast ? { cast } : {}), out };
}

/** Largest query and value vectors the row attention kernel holds in registers (codegen/kernels/attention-rows.ts). */
export const ATTENTION_ROWS_MAX_DIM = 64;

/**
 * Whether the row attention kernel takes this attention: query and value vectors of at most
 * ATTENTION_ROWS_MAX_DIM, multiples of 4, and Q, K and V each contiguous along its vectors with
 * every other stride and its offset multiples of 4, so the kernel reads them as vec4s.
 */
export function attentionRowsFit(p: AttentionParts): boolean {
  const [q, kT] = p.scores.inputs as [Value, Value];
  const v = p.out.inputs[1]!;
  /** x read through its views, contiguous along dimension `along` (from the end), the rest four-aligned. */
  const vec4Along = (x: Value, along: number) => {
    const view = traceView(x)?.view ?? denseView(dimsOf(x.type));
    const unit = view.strides.length - along;
    return view.strides[unit] === 1 && [view.offset, ...view.strides.filter((_, d) => d !== unit)].every((d: Dim) => dIsMultiple(d, 4));
  };
  const widths = [dimsOf(q.type).at(-1)!, dimsOf(v.type).at(-1)!];
  return widths.every((d) => typeof d === 'number' && d % 4 === 0 && d <= ATTENTION_ROWS_MAX_DIM) && vec4Along(q, 1) && vec4Along(kT, 2) && vec4Along(v, 1);
}

/**
 * The transpose that alone reads an attention's result `out` and keeps its last axis last (as a
 * block moves the heads back beside the tokens, [B, H, L, Ev] -> [B, L, H, Ev], before joining
 * them): the attention kernels store through it, so it costs no dispatch of its own.
 */
export function storedTranspose(out: Node, onlyReader: (v: Value) => Node | undefined): Node | undefined {
  const t = onlyReader(out.output);
  if (t?.op !== 'transpose') return undefined;
  const rank = out.output.type.shape.length;
  return transposePerm(rank, attrsOf(t, transposeAttrs).perm)[rank - 1] === rank - 1 ? t : undefined;
}
