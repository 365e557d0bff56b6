import { KilnError } from '../../../ir/errors.js';
import * as F from '../functional.js';
import { hostTensorData } from '../host-values.js';
import { Module, type ModuleOutput } from '../module.js';
import type { Tensor } from '../tensor.js';
import { cat, stack } from '../tensor-shape.js';
import { uniformFanIn } from './init.js';

// PyTorch's recurrent layers (nn.RNN, nn.LSTM, nn.GRU): their parameters by PyTorch's names and
// gate order (so a state dict loads as is), their input layouts (sequence first, batch_first, or
// unbatched) and their returns. The steps are unrolled into ops that have gradient rules, as
// kiln's ONNX importer unrolls ONNX's RNN, LSTM and GRU: the input's projection for every step
// is one matmul, then each step multiplies the hidden state.

export interface RecurrentOptions {
  /** Stacked layers (default 1), each reading the previous one's output. */
  readonly numLayers?: number;
  readonly bias?: boolean;
  /** Input and output as [batch, sequence, feature] instead of [sequence, batch, feature]. */
  readonly batchFirst?: boolean;
  /** Dropout on each layer's output but the last, in training (default 0). */
  readonly dropout?: number;
  /** A second direction reading the sequence backwards; outputs are concatenated. */
  readonly bidirectional?: boolean;
}

/** How one step turns the input's projection and the state into the next state (h first). */
type Cell = (xw: Tensor, state: readonly Tensor[], whh: Tensor, bhh: Tensor | undefined) => Tensor[];

/** What the layers share: parameters, layouts, and the unrolled loop over layers, directions and steps. */
abstract class RecurrentBase<Out extends ModuleOutput> extends Module<Out> {
  readonly numLayers: number;
  readonly batchFirst: boolean;
  readonly bidirectional: boolean;
  readonly dropout: number;
  /** Per layer and direction: weight_ih, weight_hh, bias_ih, bias_hh. */
  protected readonly weights: [Tensor, Tensor, Tensor | undefined, Tensor | undefined][] = [];

  constructor(readonly kind: string, readonly inputSize: number, readonly hiddenSize: number, gates: number, opts: RecurrentOptions) {
    super();
    this.numLayers = opts.numLayers ?? 1;
    this.batchFirst = opts.batchFirst ?? false;
    this.bidirectional = opts.bidirectional ?? false;
    this.dropout = opts.dropout ?? 0;
    if (!Number.isInteger(this.numLayers) || this.numLayers < 1) throw new KilnError(`${kind}: numLayers must be a positive integer, got ${this.numLayers}`);
    if (!(this.dropout >= 0 && this.dropout <= 1)) throw new KilnError(`${kind}: dropout must be in [0, 1], got ${this.dropout}`);
    const dirs = this.bidirectional ? 2 : 1;
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < dirs; d++) {
        const suffix = `_l${l}${d ? '_reverse' : ''}`;
        const inSize = l === 0 ? inputSize : hiddenSize * dirs;
        // PyTorch's init: every parameter uniform in ±1/sqrt(hidden_size).
        const p = (name: string, shape: number[]) => this.registerParameter(name + suffix, uniformFanIn(shape, hiddenSize));
        this.weights.push([
          p('weight_ih', [gates * hiddenSize, inSize]),
          p('weight_hh', [gates * hiddenSize, hiddenSize]),
          opts.bias === false ? undefined : p('bias_ih', [gates * hiddenSize]),
          opts.bias === false ? undefined : p('bias_hh', [gates * hiddenSize]),
        ]);
      }
    }
  }

  protected abstract readonly cell: Cell;

  override extraRepr(): string {
    const dirs = this.bidirectional ? 2 : 1;
    const opts = [
      ...(this.numLayers !== 1 ? [`num_layers=${this.numLayers}`] : []),
      ...(this.weights[0]![2] === undefined ? ['bias=False'] : []),
      ...(this.batchFirst ? ['batch_first=True'] : []),
      ...(this.dropout ? [`dropout=${this.dropout}`] : []),
      ...(dirs === 2 ? ['bidirectional=True'] : []),
    ];
    return [`${this.inputSize}, ${this.hiddenSize}`, ...opts].join(', ');
  }

  /**
   * Runs the sequence: `input` [T, B, in] ([B, T, in] batchFirst, or [T, in] unbatched), the
   * initial states [layers * directions, B, hidden] (zeros if absent; the LSTM's h and c). Returns
   * the last layer's output at every step and the final states, each [layers * directions, B, hidden].
   */
  protected run(input: Tensor, initial: readonly (Tensor | undefined)[]): [Tensor, Tensor[]] {
    const rank = input.shape.length;
    if ((rank !== 2 && rank !== 3) || input.shape.at(-1) !== this.inputSize) {
      throw new KilnError(`${this.kind}: input must be [sequence, batch, ${this.inputSize}]${this.batchFirst ? ' (batch first)' : ''} or unbatched [sequence, ${this.inputSize}], got [${input.shape.join(',')}]`);
    }
    const unbatched = rank === 2;
    let x = unbatched ? input.unsqueeze(1) : this.batchFirst ? input.transpose(0, 1) : input;
    const [steps, batch] = x.shape as [number, number];
    const dirs = this.bidirectional ? 2 : 1;
    const stateShape = [this.numLayers * dirs, batch, this.hiddenSize];
    const given = initial.map((h, k) => {
      if (h === undefined) return x.constantLike(hostTensorData(x.dtype, stateShape, new Array<number>(stateShape[0]! * batch * this.hiddenSize).fill(0)));
      const want = unbatched ? stateShape.filter((_, i) => i !== 1) : stateShape;
      if (h.shape.length !== want.length || h.shape.some((n, i) => n !== want[i])) {
        throw new KilnError(`${this.kind}: initial ${k ? 'cell' : 'hidden'} state must be [${want.join(',')}], got [${h.shape.join(',')}]`);
      }
      return unbatched ? h.unsqueeze(1) : h;
    });
    const finals: Tensor[][] = initial.map(() => []);
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const k = l * dirs + d;
        const [wih, whh, bih, bhh] = this.weights[k]!;
        // The input's projection for every step at once: [T, B, gates * hidden].
        const xw = F.linear(x, wih, bih);
        let state = given.map((h) => h.narrow(0, k, 1).reshape([batch, this.hiddenSize]));
        const hs: Tensor[] = new Array<Tensor>(steps);
        for (let s = 0; s < steps; s++) {
          const t = d ? steps - 1 - s : s;
          state = this.cell(xw.narrow(0, t, 1).reshape(xw.shape.slice(1)), state, whh, bhh);
          hs[t] = state[0]!;
        }
        outs.push(stack(hs, 0));
        state.forEach((h, i) => finals[i]!.push(h));
      }
      x = dirs > 1 ? cat(outs, 2) : outs[0]!;
      if (this.dropout > 0 && this.training && l < this.numLayers - 1) x = F.dropout(x, { p: this.dropout, training: true });
    }
    const output = unbatched ? x.reshape([steps, x.shape[2]!]) : this.batchFirst ? x.transpose(0, 1) : x;
    return [output, finals.map((hs) => (unbatched ? stack(hs, 0).reshape([hs.length, this.hiddenSize]) : stack(hs, 0)))];
  }
}

/** The gates of a step: the input's projection plus the hidden state's, [B, gates * hidden] split in `n`. */
function gates(xw: Tensor, h: Tensor, whh: Tensor, bhh: Tensor | undefined, n: number): Tensor[] {
  return xw.add(F.linear(h, whh, bhh)).chunk(n, 1);
}

/** An Elman RNN, as torch.nn.RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). */
export class RNN extends RecurrentBase<[Tensor, Tensor]> {
  protected readonly cell: Cell;

  constructor(inputSize: number, hiddenSize: number, opts: RecurrentOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    super('RNN', inputSize, hiddenSize, 1, opts);
    const f = opts.nonlinearity ?? 'tanh';
    if (f !== 'tanh' && f !== 'relu') throw new KilnError(`RNN: unknown nonlinearity '${String(f)}'; it takes 'tanh' or 'relu'`);
    this.cell = (xw, [h], whh, bhh) => {
      const a = xw.add(F.linear(h!, whh, bhh));
      return [f === 'tanh' ? a.tanh() : a.relu()];
    };
  }

  /** Returns [output, h_n]. */
  forward(input: Tensor, h0?: Tensor): [Tensor, Tensor] {
    const [out, [h]] = this.run(input, [h0]);
    return [out, h!];
  }
}

/** A long short-term memory, as torch.nn.LSTM (gates i, f, g, o; no proj_size). */
export class LSTM extends RecurrentBase<[Tensor, [Tensor, Tensor]]> {
  protected readonly cell: Cell = (xw, [h, c], whh, bhh) => {
    const [i, f, g, o] = gates(xw, h!, whh, bhh, 4) as [Tensor, Tensor, Tensor, Tensor];
    const c2 = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
    return [o.sigmoid().mul(c2.tanh()), c2];
  };

  constructor(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}) {
    super('LSTM', inputSize, hiddenSize, 4, opts);
  }

  /** Returns [output, [h_n, c_n]], as PyTorch's `output, (h_n, c_n)`. */
  forward(input: Tensor, hx?: readonly [Tensor, Tensor]): [Tensor, [Tensor, Tensor]] {
    const [out, [h, c]] = this.run(input, hx ? [hx[0], hx[1]] : [undefined, undefined]);
    return [out, [h!, c!]];
  }
}

/** A gated recurrent unit, as torch.nn.GRU (gates r, z, n; the reset gate applied after W_hn h + b_hn). */
export class GRU extends RecurrentBase<[Tensor, Tensor]> {
  protected readonly cell: Cell = (xw, [h], whh, bhh) => {
    const [xr, xz, xn] = xw.chunk(3, 1) as [Tensor, Tensor, Tensor];
    const [hr, hz, hn] = F.linear(h!, whh, bhh).chunk(3, 1) as [Tensor, Tensor, Tensor];
    const r = xr.add(hr).sigmoid();
    const z = xz.add(hz).sigmoid();
    const n = xn.add(r.mul(hn)).tanh();
    // (1 - z) * n + z * h, as n + z * (h - n).
    return [n.add(z.mul(h!.sub(n)))];
  };

  constructor(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}) {
    super('GRU', inputSize, hiddenSize, 3, opts);
  }

  /** Returns [output, h_n]. */
  forward(input: Tensor, h0?: Tensor): [Tensor, Tensor] {
    const [out, [h]] = this.run(input, [h0]);
    return [out, h!];
  }
}
