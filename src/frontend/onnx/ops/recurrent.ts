// RNN, GRU and LSTM, unrolled over the sequence at import (rnn-unroll.ts); this file holds each
// cell's equations as ONNX states them (gate order: LSTM i, o, f, c; GRU z, r, h).
import type { Operand } from '../builder.js';
import { defineOnnxOp } from '../node.js';
import { scalarLike } from './helpers.js';
import { clipper, gate, unrollRecurrent } from './rnn-unroll.js';

// Ht = f(Xt Wi^T + Ht-1 Ri^T + Wbi + Rbi)
defineOnnxOp('RNN', (n) => {
  const b = n.b;
  const clip = clipper(n);
  return unrollRecurrent(n, { gates: 1, defaultActivations: ['Tanh'], cell: false }, (d) => {
    const [f] = d.act as [(x: Operand) => Operand];
    return (xw, prev) => ({ h: f(clip(b.op('add', [xw, b.op('gemm', [prev.h, d.r, d.rb], { trans_b: true })]))) });
  });
});

// zt = f(Xt Wz^T + Ht-1 Rz^T + Wbz + Rbz), rt likewise;
// ht = g(Xt Wh^T + (rt . Ht-1) Rh^T + Rbh + Wbh), or with linear_before_reset
// ht = g(Xt Wh^T + rt . (Ht-1 Rh^T + Rbh) + Wbh); Ht = (1 - zt) . ht + zt . Ht-1.
defineOnnxOp('GRU', (n) => {
  const b = n.b;
  const clip = clipper(n);
  const linearBeforeReset = n.attrs.int('linear_before_reset', 0) !== 0;
  return unrollRecurrent(n, { gates: 3, defaultActivations: ['Sigmoid', 'Tanh'], cell: false }, (d) => {
    const [f, g] = d.act as [(x: Operand) => Operand, (x: Operand) => Operand];
    const size = d.hidden;
    const rowsOf = (x: Operand, from: number, to: number) => b.op('slice', [x], { starts: [from * size], ends: [to * size], axes: [0] });
    const [rZR, rbZR, rH, rbH] = [rowsOf(d.r, 0, 2), rowsOf(d.rb, 0, 2), rowsOf(d.r, 2, 3), rowsOf(d.rb, 2, 3)];
    return (xw, prev) => {
      const recurrent = b.op('gemm', linearBeforeReset ? [prev.h, d.r, d.rb] : [prev.h, rZR, rbZR], { trans_b: true });
      const z = f(clip(b.op('add', [gate(b, xw, 0, size), gate(b, recurrent, 0, size)])));
      const r = f(clip(b.op('add', [gate(b, xw, 1, size), gate(b, recurrent, 1, size)])));
      const reset = linearBeforeReset
        ? b.op('mul', [r, gate(b, recurrent, 2, size)])
        : b.op('gemm', [b.op('mul', [r, prev.h]), rH, rbH], { trans_b: true });
      const candidate = g(clip(b.op('add', [gate(b, xw, 2, size), reset])));
      const keep = b.op('sub', [scalarLike(b, z, 1), z]);
      return { h: b.op('add', [b.op('mul', [keep, candidate]), b.op('mul', [z, prev.h])]) };
    };
  });
});

// it = f(Xt Wi^T + Ht-1 Ri^T + Pi . Ct-1 + Wbi + Rbi), ft likewise (or 1 - it with
// input_forget), ct = g(Xt Wc^T + Ht-1 Rc^T + Wbc + Rbc), Ct = ft . Ct-1 + it . ct,
// ot = f(Xt Wo^T + Ht-1 Ro^T + Po . Ct + Wbo + Rbo), Ht = ot . h(Ct).
defineOnnxOp('LSTM', (n) => {
  const b = n.b;
  const clip = clipper(n);
  const inputForget = n.attrs.int('input_forget', 0) !== 0;
  return unrollRecurrent(n, { gates: 4, defaultActivations: ['Sigmoid', 'Tanh', 'Tanh'], cell: true }, (d) => {
    const [f, g, h] = d.act as [(x: Operand) => Operand, (x: Operand) => Operand, (x: Operand) => Operand];
    const size = d.hidden;
    const [pi, po, pf] = [0, 1, 2].map((k) => (d.p ? gate(b, d.p, k, size) : undefined));
    const peephole = (x: Operand, p: Operand | undefined, c: Operand) => (p ? b.op('add', [x, b.op('mul', [p, c])]) : x);
    return (xw, prev) => {
      const c = prev.c!;
      const all = b.op('add', [xw, b.op('gemm', [prev.h, d.r, d.rb], { trans_b: true })]);
      const i = f(clip(peephole(gate(b, all, 0, size), pi, c)));
      const forget = inputForget ? b.op('sub', [scalarLike(b, i, 1), i]) : f(clip(peephole(gate(b, all, 2, size), pf, c)));
      const candidate = g(clip(gate(b, all, 3, size)));
      const cell = b.op('add', [b.op('mul', [forget, c]), b.op('mul', [i, candidate])]);
      const o = f(clip(peephole(gate(b, all, 1, size), po, cell)));
      return { h: b.op('mul', [o, h(cell)]), c: cell };
    };
  });
});
