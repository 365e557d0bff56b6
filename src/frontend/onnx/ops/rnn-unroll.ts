// What RNN, GRU and LSTM share: their operands and attributes, their activation functions, and
// the unrolling of the recurrence over the (static) sequence length into kiln ops. The input
// projection X W^T + Wb of every step is one gemm; each step then adds H R^T (+ Rb) and applies
// its gates, all elementwise ops that fuse and run on the GPU.
import { dimsOf, isFloat } from '../../../ir/types.js';
import { dimText, dMul, type Dim } from '../../../ir/size-expr.js';
import { dimsAgree } from '../../../ir/symbolic-shapes.js';
import { isConst, typeOf, type OnnxBuilder, type Operand } from '../builder.js';
import type { OnnxNode } from '../node.js';
import { constValues } from '../tensor.js';
import { castTo, reshapeToDims, scalarLike } from './helpers.js';

type Apply = (b: OnnxBuilder, x: Operand, alpha: number, beta: number) => Operand;

/**
 * An activation ONNX allows in recurrent ops, with the number of parameters it takes and their
 * defaults. Affine, ScaledTanh and ThresholdedRelu have none: ONNX says "as the operator of that
 * name" but ONNX Runtime uses 0, so kiln asks for explicit values rather than pick one.
 */
interface Activation { readonly params: 0 | 1 | 2; readonly alpha?: number; readonly beta?: number; readonly apply: Apply }

const unary = (op: string): Activation => ({ params: 0, apply: (b, x) => b.op(op, [x]) });

/** The activation functions of ONNX's recurrent ops, by lower-case name. */
const ACTIVATIONS: Record<string, Activation> = {
  relu: unary('relu'),
  tanh: unary('tanh'),
  sigmoid: unary('sigmoid'),
  softplus: unary('softplus'),
  softsign: { params: 0, apply: (b, x) => b.op('div', [x, b.op('add', [scalarLike(b, x, 1), b.op('abs', [x])])]) },
  affine: { params: 2, apply: (b, x, a, c) => b.op('add', [b.op('mul', [x, scalarLike(b, x, a)]), scalarLike(b, x, c)]) },
  scaledtanh: { params: 2, apply: (b, x, a, c) => b.op('mul', [scalarLike(b, x, a), b.op('tanh', [b.op('mul', [x, scalarLike(b, x, c)])])]) },
  // x if x >= alpha else 0 (>=, as the recurrent ops define it)
  thresholdedrelu: { params: 1, apply: (b, x, a) => b.op('where', [b.op('less', [x, scalarLike(b, x, a)]), scalarLike(b, x, 0), x]) },
  leakyrelu: { params: 1, alpha: 0.01, apply: (b, x, a) => b.op('leaky_relu', [x], { alpha: a }) },
  hardsigmoid: { params: 2, alpha: 0.2, beta: 0.5, apply: (b, x, a, c) => b.op('hardsigmoid', [x], { alpha: a, beta: c }) },
  elu: {
    params: 1, alpha: 1,
    apply: (b, x, a) => {
      const negative = b.op('sub', [b.op('exp', [b.op('minimum', [x, scalarLike(b, x, 0)])]), scalarLike(b, x, 1)]);
      return b.op('add', [b.op('relu', [x]), b.op('mul', [scalarLike(b, x, a), negative])]);
    },
  },
};

/** An activation with its alpha and beta bound. */
export type Activate = (x: Operand) => Operand;

/**
 * The activations of each direction: `activations` (default `defaults` per direction), with
 * `activation_alpha` / `activation_beta` consumed in order by the activations that take them.
 */
function activationsOf(n: OnnxNode, defaults: readonly string[], directions: number): Activate[][] {
  const names = n.attrs.strings('activations') ?? Array.from({ length: directions }, () => defaults).flat();
  if (names.length !== defaults.length * directions) {
    n.fail(`needs ${defaults.length * directions} activations (${defaults.length} per direction), got ${names.length}`);
  }
  const alphas = [...n.attrs.floats('activation_alpha', [])];
  const betas = [...n.attrs.floats('activation_beta', [])];
  const fns = names.map((name): Activate => {
    const act = ACTIVATIONS[name.toLowerCase()];
    if (!act) return n.unsupported(`activation '${name}' is not one ONNX defines for recurrent ops (${Object.keys(ACTIVATIONS).join(', ')})`);
    const alpha = act.params >= 1 ? alphas.shift() ?? act.alpha : 0;
    const beta = act.params >= 2 ? betas.shift() ?? act.beta : 0;
    if (alpha === undefined || beta === undefined) {
      n.unsupported(`activation '${name}' needs its alpha${act.params === 2 ? ' and beta' : ''} given (activation_alpha/activation_beta): its defaults differ between ONNX's text and ONNX Runtime`);
    }
    return (x) => act.apply(n.b, x, alpha, beta);
  });
  return Array.from({ length: directions }, (_, d) => fns.slice(d * defaults.length, (d + 1) * defaults.length));
}

/** One direction's parameters, sliced out of W, R, B (and P). */
export interface DirectionParams {
  readonly hidden: number;
  /** R[d], [gates * hidden, hidden]. */
  readonly r: Operand;
  /** Rb[d], [gates * hidden]. */
  readonly rb: Operand;
  /** P[d], [3 * hidden] (LSTM peepholes), when given. */
  readonly p: Operand | undefined;
  /** The activations of this direction, in the op's order (f, g, h). */
  readonly act: readonly Activate[];
}

/** The recurrent state between steps: the hidden state and, for LSTM, the cell state. */
export interface State { readonly h: Operand; readonly c?: Operand }

/** One step of a cell: from the input projection of step t (X_t W^T + Wb, [batch, gates * hidden]) and the state before it. */
export type Step = (xw: Operand, prev: State) => State;

/** Makes the step of one direction (slicing R and the like once, not per step). */
export type Cell = (d: DirectionParams) => Step;

/** What sets RNN, GRU and LSTM apart for the unrolling. */
export interface RecurrentSpec {
  readonly gates: number;
  readonly defaultActivations: readonly string[];
  /** Whether the op has a cell state (LSTM). */
  readonly cell: boolean;
}

/** Slices `x` to index `i` of `axis` and drops that axis. */
export function pick(b: OnnxBuilder, x: Operand, axis: number, i: number): Operand {
  return b.op('squeeze', [b.op('slice', [x], { starts: [i], ends: [i + 1], axes: [axis] })], { axes: [axis] });
}

/** Slices gate `g` (of width `hidden`) out of the last axis of `x`. */
export function gate(b: OnnxBuilder, x: Operand, g: number, hidden: number): Operand {
  const rank = typeOf(x).shape.length;
  return b.op('slice', [x], { starts: [g * hidden], ends: [(g + 1) * hidden], axes: [rank - 1] });
}

/** Clips gate pre-activations to [-clip, clip] when the node has a `clip` attribute. */
export function clipper(n: OnnxNode): (x: Operand) => Operand {
  const clip = n.attrs.float('clip');
  if (clip === undefined) return (x) => x;
  if (!(clip > 0)) n.fail(`clip must be positive, got ${clip}`);
  return (x) => n.b.op('clip', [x], { min: -clip, max: clip });
}

/** ONNX layout 1 [batch, seq, ...] <-> layout 0 [seq, batch, ...]: swaps the first two axes. */
function swapLeading(b: OnnxBuilder, x: Operand): Operand {
  const rank = typeOf(x).shape.length;
  return b.op('transpose', [x], { perm: [1, 0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)] });
}

/**
 * Maps an RNN, GRU or LSTM node: reads its operands and attributes, unrolls `step` over the
 * sequence in each direction, and returns [Y, Y_h] (and Y_c for a cell) in the node's layout.
 */
export function unrollRecurrent(n: OnnxNode, spec: RecurrentSpec, cell: Cell): (Operand | undefined)[] {
  const b = n.b;
  const layout = n.attrs.int('layout', 0);
  if (layout !== 0 && layout !== 1) n.fail(`layout must be 0 or 1, got ${layout}`);
  let x = n.input(0);
  const dtype = typeOf(x).dtype;
  if (!isFloat(dtype)) n.fail(`takes float inputs, got ${dtype}`);
  if (typeOf(x).shape.length !== 3) n.fail(`X must be 3-D, got [${typeOf(x).shape.join(',')}]`);
  if (layout === 1) x = swapLeading(b, x);
  // The batch may vary from run to run; the sequence is unrolled, so its length may not.
  const [seqDim, batch, inputSize] = dimsOf(typeOf(x)) as [Dim, Dim, number];
  const seq = typeof seqDim === 'number' ? seqDim : n.unsupported(`a sequence length that varies (${dimText(seqDim)}): kiln unrolls the recurrence over a fixed number of steps`);
  const direction = n.attrs.string('direction', 'forward');
  const order = { forward: [false], reverse: [true], bidirectional: [false, true] }[direction];
  if (!order) return n.fail(`direction must be forward, reverse or bidirectional, got '${direction}'`);
  const w = n.input(1);
  const r = n.input(2);
  const hidden = n.attrs.int('hidden_size') ?? typeOf(r).shape[2]!;
  const gh = spec.gates * hidden;
  const expect = (what: string, v: Operand, shape: Dim[]) => {
    const s = dimsOf(typeOf(v));
    if (!dimsAgree(s, shape)) n.fail(`${what} must be [${shape.map(dimText).join(',')}], got [${s.map(dimText).join(',')}]`);
  };
  const dirs = order.length;
  expect('W', w, [dirs, gh, inputSize]);
  expect('R', r, [dirs, gh, hidden]);
  const bias = n.optional(3);
  if (bias) expect('B', bias, [dirs, 2 * gh]);
  if (seq === 0) n.unsupported('an empty sequence (its outputs would be undefined)');

  // Steps at or past a batch entry's length keep its state and output zeros: a mask per step.
  const lens = n.optional(4);
  const masks = lens ? stepMasks(n, lens, seq, batch) : undefined;
  const initial = (i: number, what: string): Operand | undefined => {
    const v = n.optional(i);
    if (!v) return undefined;
    const shape = layout === 1 ? [batch, dirs, hidden] : [dirs, batch, hidden];
    expect(what, v, shape);
    return castTo(b, layout === 1 ? swapLeading(b, v) : v, dtype);
  };
  const h0 = initial(5, 'initial_h');
  const c0 = spec.cell ? initial(6, 'initial_c') : undefined;
  const peep = spec.cell ? n.optional(7) : undefined;
  if (peep) expect('P', peep, [dirs, 3 * hidden]);
  const acts = activationsOf(n, spec.defaultActivations, dirs);
  // The first step broadcasts a zero state of one row over a batch that varies.
  const zeros = b.scalar(dtype, 0, [typeof batch === 'number' ? batch : 1, hidden]);

  const ys: Operand[] = [];
  const hs: Operand[] = [];
  const cs: Operand[] = [];
  order.forEach((reverse, d) => {
    const wd = pick(b, w, 0, d);
    const bd = bias ? pick(b, bias, 0, d) : undefined;
    const params: DirectionParams = {
      hidden,
      r: pick(b, r, 0, d),
      rb: bd ? b.op('slice', [bd], { starts: [gh], ends: [2 * gh], axes: [0] }) : b.scalar(dtype, 0, [gh]),
      p: peep ? pick(b, peep, 0, d) : undefined,
      act: acts[d]!,
    };
    const step = cell(params);
    const wb = bd ? b.op('slice', [bd], { starts: [0], ends: [gh], axes: [0] }) : undefined;
    const flat = reshapeToDims(n, x, [dMul(seq, batch), inputSize]);
    const xw = reshapeToDims(n, b.op('gemm', wb ? [flat, wd, wb] : [flat, wd], { trans_b: true }), [seq, batch, gh]);
    let state: State = {
      h: h0 ? pick(b, h0, 0, d) : zeros,
      ...(spec.cell ? { c: c0 ? pick(b, c0, 0, d) : zeros } : {}),
    };
    const outputs: Operand[] = new Array<Operand>(seq);
    for (let k = 0; k < seq; k++) {
      const t = reverse ? seq - 1 - k : k;
      const next = step(pick(b, xw, 0, t), state);
      const mask = masks?.[t];
      if (mask) {
        outputs[t] = b.op('where', [mask, next.h, zeros]);
        state = {
          h: b.op('where', [mask, next.h, state.h]),
          ...(next.c && state.c ? { c: b.op('where', [mask, next.c, state.c]) } : {}),
        };
      } else {
        outputs[t] = next.h;
        state = next;
      }
    }
    if (n.outputUsed(0)) ys.push(b.op('concat', outputs.map((o) => b.op('unsqueeze', [o], { axes: [0] })), { axis: 0 }));
    hs.push(state.h);
    if (state.c) cs.push(state.c);
  });

  const stack = (xs: Operand[], axis: number) => b.op('concat', xs.map((v) => b.op('unsqueeze', [v], { axes: [axis] })), { axis });
  // Y: [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]); Y_h, Y_c: [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]).
  const y = n.outputUsed(0) ? stack(ys, 1) : undefined;
  const finals = (xs: Operand[]) => (xs.length ? (layout === 1 ? swapLeading(b, stack(xs, 0)) : stack(xs, 0)) : undefined);
  return [
    y && layout === 1 ? b.op('transpose', [y], { perm: [2, 0, 1, 3] }) : y,
    finals(hs),
    ...(spec.cell ? [finals(cs)] : []),
  ];
}

/**
 * For each step t, a [batch, 1] mask saying which batch entries are still inside their
 * sequence (t < sequence_lens[b]), or undefined where all are (no masking needed). Lengths
 * given at run time are compared at run time.
 */
function stepMasks(n: OnnxNode, lens: Operand, seq: number, batch: Dim): (Operand | undefined)[] {
  const b = n.b;
  const s = dimsOf(typeOf(lens));
  if (!dimsAgree(s, [batch])) n.fail(`sequence_lens must be [${dimText(batch)}], got [${s.map(dimText).join(',')}]`);
  const known = isConst(lens) ? constValues(lens) : undefined;
  if (known?.every((l) => l === seq)) return [];
  const column = reshapeToDims(n, castTo(b, lens, 'i32'), [batch, 1]);
  return Array.from({ length: seq }, (_, t) => {
    if (known && known.every((l) => l > t)) return undefined;
    return b.op('less', [b.scalar('i32', t), column]);
  });
}
