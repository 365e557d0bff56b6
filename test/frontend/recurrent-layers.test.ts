import { describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { tensorData } from '../../src/ir/tensor-data.js';
import { useDefaultGpu } from './default-gpu.js';
import { attr, buildModel, node, OnnxType, tensor } from './onnx/onnx-builder.js';
import { runOrt } from './onnx/ort-oracle.js';

// torch.nn.RNN, LSTM and GRU against ONNX Runtime's RNN, LSTM and GRU ops, an outside
// implementation: the module's parameters (PyTorch's names, shapes and gate order) are rewritten
// into ONNX's gate order and layout, one ONNX op per layer, and ORT's outputs are the reference
// for kiln's on the CPU and on WebGPU. ONNX's GRU with linear_before_reset=1 is PyTorch's GRU.

const { nn } = kiln;

type Kind = 'RNN' | 'LSTM' | 'GRU';
/** ONNX's gate k is PyTorch's chunk ORDER[k]: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h. */
const ORDER: Record<Kind, number[]> = { RNN: [0], LSTM: [0, 3, 1, 2], GRU: [1, 0, 2] };

/** Values scrambled into [-1, 1), deterministic. */
const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 7919 + seed * 104729) % 2003) / 1001.5) - 1);

/** A [gates * H, ...] parameter's rows put in ONNX's gate order. */
function reorder(flat: number[], kind: Kind, chunk: number): number[] {
  return ORDER[kind].flatMap((g) => flat.slice(g * chunk, (g + 1) * chunk));
}

interface Case {
  readonly kind: Kind;
  readonly opts: kiln.nn.RecurrentOptions & { nonlinearity?: 'tanh' | 'relu' };
  readonly T: number;
  readonly B: number;
  readonly I: number;
  readonly H: number;
  /** Initial states given (else zeros). */
  readonly initial: boolean;
}

/** The ONNX model of `m`: one op per layer, its output reshaped to [T, B, dirs * H] for the next; outputs y, h_n (and c_n). */
function onnxOf(m: kiln.nn.Module<kiln.nn.ModuleOutput>, c: Case, initial: number[][]): Uint8Array {
  const params = new Map(m.namedParameters().map(([k, t]) => [k, (t.tolist() as number[][] | number[]).flat() as number[]]));
  const dirs = c.opts.bidirectional ? 2 : 1;
  const layers = c.opts.numLayers ?? 1;
  const gates = ORDER[c.kind].length;
  const inits: object[] = [];
  const nodes = [];
  const hs: string[] = [];
  const cs: string[] = [];
  let x = 'x';
  for (let l = 0; l < layers; l++) {
    const inSize = l === 0 ? c.I : c.H * dirs;
    const p = (name: string, d: number) => params.get(`${name}_l${l}${d ? '_reverse' : ''}`) ?? [];
    const W = [0, 1].slice(0, dirs).flatMap((d) => reorder(p('weight_ih', d), c.kind, c.H * inSize));
    const R = [0, 1].slice(0, dirs).flatMap((d) => reorder(p('weight_hh', d), c.kind, c.H * c.H));
    const Bias = [0, 1].slice(0, dirs).flatMap((d) => [...reorder(p('bias_ih', d), c.kind, c.H), ...reorder(p('bias_hh', d), c.kind, c.H)]);
    inits.push(tensor(`W${l}`, OnnxType.FLOAT, [dirs, gates * c.H, inSize], W), tensor(`R${l}`, OnnxType.FLOAT, [dirs, gates * c.H, c.H], R));
    if (c.opts.bias !== false) inits.push(tensor(`B${l}`, OnnxType.FLOAT, [dirs, 2 * gates * c.H], Bias));
    const state = (k: number) => (c.initial ? initial[k]!.slice(l * dirs * c.B * c.H, (l + 1) * dirs * c.B * c.H) : []);
    if (c.initial) inits.push(tensor(`h0_${l}`, OnnxType.FLOAT, [dirs, c.B, c.H], state(0)));
    if (c.initial && c.kind === 'LSTM') inits.push(tensor(`c0_${l}`, OnnxType.FLOAT, [dirs, c.B, c.H], state(1)));
    const opAttrs = {
      hidden_size: attr.i(c.H),
      direction: attr.s(dirs === 2 ? 'bidirectional' : 'forward'),
      ...(c.kind === 'GRU' ? { linear_before_reset: attr.i(1) } : {}),
      ...(c.kind === 'RNN' && c.opts.nonlinearity === 'relu' ? { activations: attr.strings(new Array<string>(dirs).fill('Relu')) } : {}),
    };
    const ins = [x, `W${l}`, `R${l}`, c.opts.bias !== false ? `B${l}` : '', '', c.initial ? `h0_${l}` : '', ...(c.kind === 'LSTM' ? [c.initial ? `c0_${l}` : ''] : [])];
    nodes.push(node(c.kind, ins, [`Y${l}`, `Yh${l}`, ...(c.kind === 'LSTM' ? [`Yc${l}`] : [])], opAttrs));
    inits.push(tensor(`shape${l}`, OnnxType.INT64, [3], [c.T, c.B, dirs * c.H]));
    nodes.push(node('Transpose', [`Y${l}`], [`Yt${l}`], { perm: attr.ints([0, 2, 1, 3]) }), node('Reshape', [`Yt${l}`, `shape${l}`], [`X${l + 1}`]));
    x = `X${l + 1}`;
    hs.push(`Yh${l}`);
    cs.push(`Yc${l}`);
  }
  nodes.push(node('Identity', [x], ['y']), node('Concat', hs, ['h_n'], { axis: attr.i(0) }));
  if (c.kind === 'LSTM') nodes.push(node('Concat', cs, ['c_n'], { axis: attr.i(0) }));
  return buildModel({
    opset: 14,
    inputs: [{ name: 'x', dims: [c.T, c.B, c.I] }],
    outputs: [{ name: 'y' }, { name: 'h_n' }, ...(c.kind === 'LSTM' ? [{ name: 'c_n' }] : [])],
    initializers: inits,
    nodes,
  });
}

/** [T, B, F] values as [B, T, F]. */
function swap01(a: number[], T: number, B: number, F: number): number[] {
  return Array.from({ length: a.length }, (_, i) => {
    const [b, t, f] = [Math.floor(i / (T * F)), Math.floor(i / F) % T, i % F];
    return a[(t * B + b) * F + f]!;
  });
}

const flat = (t: kiln.Tensor) => [t.tolist()].flat(4) as number[];

function expectClose(got: number[], want: number[], what: string) {
  expect(got, what).toHaveLength(want.length);
  const worst = Math.max(0, ...got.map((v, i) => Math.abs(v - want[i]!)));
  expect(worst, what).toBeLessThanOrEqual(2e-5);
}

const CASES: Case[] = [
  { kind: 'LSTM', opts: { numLayers: 2, bidirectional: true, batchFirst: true }, T: 5, B: 2, I: 3, H: 4, initial: true },
  { kind: 'LSTM', opts: {}, T: 4, B: 3, I: 5, H: 6, initial: false },
  { kind: 'GRU', opts: { numLayers: 2 }, T: 6, B: 2, I: 4, H: 3, initial: true },
  { kind: 'GRU', opts: { bidirectional: true, bias: false }, T: 3, B: 1, I: 2, H: 5, initial: false },
  { kind: 'RNN', opts: { nonlinearity: 'relu', numLayers: 2, bidirectional: true }, T: 4, B: 2, I: 3, H: 3, initial: true },
  { kind: 'RNN', opts: {}, T: 5, B: 2, I: 3, H: 4, initial: false },
];

describe('torch.nn recurrent layers', () => {
  const gpu = useDefaultGpu();

  for (const c of CASES) {
    it(`${c.kind} ${JSON.stringify(c.opts)} over [T ${c.T}, B ${c.B}, ${c.I}] ${c.initial ? 'from given states' : 'from zeros'}: ONNX Runtime's outputs and final states`, async () => {
      kiln.manualSeed(3);
      const m = c.kind === 'LSTM' ? new nn.LSTM(c.I, c.H, c.opts) : c.kind === 'GRU' ? new nn.GRU(c.I, c.H, c.opts) : new nn.RNN(c.I, c.H, c.opts);
      const dirs = c.opts.bidirectional ? 2 : 1;
      const L = (c.opts.numLayers ?? 1) * dirs;
      const xs = values(c.T * c.B * c.I, 1);
      const initial = [values(L * c.B * c.H, 2), values(L * c.B * c.H, 3)];
      const want = await runOrt(onnxOf(m, c, initial), { x: tensorData('f32', [c.T, c.B, c.I], xs) });
      const x = c.opts.batchFirst ? kiln.tensor(swap01(xs, c.T, c.B, c.I)).reshape(c.B, c.T, c.I) : kiln.tensor(xs).reshape(c.T, c.B, c.I);
      const states = initial.map((v) => kiln.tensor(v).reshape(L, c.B, c.H));
      const run = (x: kiln.Tensor, states: kiln.Tensor[]) => {
        const h0 = c.initial ? states[0] : undefined;
        const [y, s] = m instanceof nn.LSTM ? m.call(x, c.initial ? [states[0]!, states[1]!] : undefined) : (m as kiln.nn.GRU).call(x, h0);
        return [y, ...(Array.isArray(s) ? s : [s])] as kiln.Tensor[];
      };
      const check = (got: kiln.Tensor[], where: string) => {
        const y = flat(got[0]!);
        expect(got[0]!.shape).toEqual(c.opts.batchFirst ? [c.B, c.T, dirs * c.H] : [c.T, c.B, dirs * c.H]);
        expectClose(c.opts.batchFirst ? swap01(y, c.B, c.T, dirs * c.H) : y, want[0]!.values, `output on ${where}`);
        got.slice(1).forEach((s, k) => {
          expect(s.shape).toEqual([L, c.B, c.H]);
          expectClose(flat(s), want[k + 1]!.values, `final ${k ? 'c' : 'h'} on ${where}`);
        });
      };
      check(run(x, states), 'the CPU');
      await m.to(gpu());
      const onGpu = run(await x.to(gpu()), await Promise.all(states.map((s) => s.to(gpu()))));
      check(await Promise.all(onGpu.map((t) => t.to('cpu'))), 'WebGPU');
    });
  }

  it('takes unbatched sequences, traces to a graph with an output per tensor returned, and refuses wrong shapes by name', () => {
    kiln.manualSeed(4);
    const lstm = new nn.LSTM(3, 2);
    const x = kiln.tensor(values(12, 5)).reshape(4, 3);
    const [y, [h, cell]] = lstm.call(x);
    const [yb, [hb]] = lstm.call(x.reshape(4, 1, 3));
    expect([y.shape, h.shape, cell.shape]).toEqual([[4, 2], [1, 2], [1, 2]]);
    expect(flat(y)).toEqual(flat(yb));
    expect(flat(h)).toEqual(flat(hb));
    const g = kiln.trace(lstm, [x.reshape(4, 1, 3)]);
    expect(g.outputs.map((v) => [v.name, v.type.shape])).toEqual([['y0', [4, 1, 2]], ['y1', [1, 1, 2]], ['y2', [1, 1, 2]]]);
    expect(() => lstm.call(kiln.zeros([4, 1, 5]))).toThrow('LSTM: input must be [sequence, batch, 3] or unbatched [sequence, 3], got [4,1,5]');
    expect(() => new nn.GRU(3, 2).call(x.reshape(4, 1, 3), kiln.zeros([2, 1, 2]))).toThrow('GRU: initial hidden state must be [1,1,2], got [2,1,2]');
    expect(() => new nn.RNN(3, 2, { nonlinearity: 'sigmoid' as 'relu' })).toThrow("unknown nonlinearity 'sigmoid'");
  });
});
