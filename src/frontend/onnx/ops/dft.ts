// DFT and STFT on static shapes: the transform along one axis is a matmul with a constant
// matrix of cosines and sines (computed in double precision, angles reduced modulo the length
// so they are exact), which runs on the GPU and needs no FFT kernel.
import { typeOf, type OnnxBuilder, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { makeConst } from '../tensor.js';
import { normalizeAxis, reshapeTo } from './helpers.js';

/** What one transform computes: its length, direction, and which bins it reads and writes. */
interface Transform {
  /** The transform length N. */
  readonly n: number;
  readonly inverse: boolean;
  /** Forward: keep bins 0..N/2 only. Inverse: the input is that half spectrum and the output real. */
  readonly onesided: boolean;
}

/**
 * The matrix taking [re_0..re_{L-1}, im_0..im_{L-1}] (or the L real values) to
 * [re of every output bin, im of every output bin] (or the N real outputs of an inverse onesided
 * transform). Inputs past the transform length are ignored (truncation); missing ones are zeros.
 */
function dftMatrix(t: Transform, inLength: number, complexIn: boolean): { values: number[]; rows: number; cols: number; outLength: number; complexOut: boolean } {
  const { n, inverse, onesided } = t;
  const half = Math.floor(n / 2) + 1;
  const complexOut = !(inverse && onesided);
  const outLength = inverse ? n : onesided ? half : n;
  const rows = (complexIn ? 2 : 1) * inLength;
  const cols = (complexOut ? 2 : 1) * outLength;
  const values = new Array<number>(rows * cols).fill(0);
  const set = (r: number, c: number, v: number) => { values[r * cols + c] = v; };
  const used = Math.min(inLength, inverse && onesided ? half : n);
  for (let i = 0; i < used; i++) {
    for (let o = 0; o < outLength; o++) {
      const angle = (2 * Math.PI * ((i * o) % n)) / n;
      const [cos, sin] = [Math.cos(angle), Math.sin(angle)];
      if (!inverse) {
        // X_o = sum x_i e^{-i angle}: re += re cos + im sin, im += im cos - re sin
        set(i, o, cos); set(i, outLength + o, -sin);
        if (complexIn) { set(inLength + i, o, sin); set(inLength + i, outLength + o, cos); }
      } else if (complexOut) {
        // x_o = (1/N) sum X_i e^{+i angle}
        set(i, o, cos / n); set(i, outLength + o, sin / n);
        if (complexIn) { set(inLength + i, o, -sin / n); set(inLength + i, outLength + o, cos / n); }
      } else {
        // Real inverse of a half spectrum: bins 1..ceil(N/2)-1 stand for their conjugate mirror too.
        const weight = (i === 0 || 2 * i === n ? 1 : 2) / n;
        set(i, o, weight * cos);
        if (complexIn) set(inLength + i, o, -weight * sin);
      }
    }
  }
  return { values, rows, cols, outLength, complexOut };
}

/**
 * Transforms the last axis but one of `x` [..., L, 1 or 2] (the last holds re(, im)): returns
 * [..., outLength, 2], or [..., N, 1] for an inverse onesided transform.
 */
export function transformLastAxis(b: OnnxBuilder, x: Operand, t: Transform): Operand {
  const shape = typeOf(x).shape;
  const lead = shape.slice(0, -2);
  const inLength = shape.at(-2)!;
  const complexIn = shape.at(-1) === 2;
  const m = dftMatrix(t, inLength, complexIn);
  // [..., L, c] -> [..., c, L] -> [..., c * L]: re values then im values.
  const planes = complexIn ? b.op('transpose', [x], { perm: [...lead.keys(), lead.length + 1, lead.length] }) : x;
  const matrix = makeConst('dft_matrix', typeOf(x).dtype, [m.rows, m.cols], m.values);
  const product = b.op('matmul', [reshapeTo(b, planes, [lead.reduce((p, d) => p * d, 1), m.rows]), matrix]);
  if (!m.complexOut) return reshapeTo(b, product, [...lead, m.outLength, 1]);
  const split = reshapeTo(b, product, [...lead, 2, m.outLength]);
  return b.op('transpose', [split], { perm: [...lead.keys(), lead.length + 1, lead.length] });
}

/** Moves axis `from` of `x` to position `to` (keeping the others in order). */
function moveAxis(b: OnnxBuilder, x: Operand, from: number, to: number): Operand {
  if (from === to) return x;
  const perm = [...typeOf(x).shape.keys()].filter((a) => a !== from);
  perm.splice(to, 0, from);
  return b.op('transpose', [x], { perm });
}

function checkSignal(n: OnnxNode, x: Operand): void {
  const s = typeOf(x).shape;
  if (s.length < 3 || (s.at(-1) !== 1 && s.at(-1) !== 2)) n.fail(`its signal must be [batch, ..., 1 or 2], got [${s.join(',')}]`);
  if (typeOf(x).dtype !== 'f32') n.unsupported(`takes float (f32) signals, got ${typeOf(x).dtype}`);
}

// DFT-17 takes its axis as an attribute (default 1), DFT-20 as an optional input (default -2);
// either counts the trailing re/im axis. dft_length pads or truncates the signal.
defineOnnxOp('DFT', (n) => {
  const x = n.input(0);
  checkSignal(n, x);
  const rank = typeOf(x).shape.length;
  const rawAxis = n.opset < 20 ? n.attrs.int('axis', 1) : (n.optionalValues(2, 'axis')?.[0] ?? -2);
  const axis = normalizeAxis(n, rawAxis, rank);
  if (axis === 0 || axis === rank - 1) n.fail(`axis ${rawAxis} must name a signal axis (not the batch or the re/im axis)`);
  const inverse = n.attrs.int('inverse', 0) !== 0;
  const onesided = n.attrs.int('onesided', 0) !== 0;
  // An inverse onesided transform reads a half spectrum of L bins: by default N = 2 (L - 1).
  const extent = typeOf(x).shape[axis]!;
  const length = n.optionalValues(1, 'dft_length')?.[0] ?? (inverse && onesided ? 2 * (extent - 1) : extent);
  if (!(length >= 1)) n.fail(`the transform length must be positive, got ${length}`);
  const moved = moveAxis(n.b, x, axis, rank - 2);
  return moveAxis(n.b, transformLastAxis(n.b, moved, { n: length, inverse, onesided }), rank - 2, axis);
});

// STFT: frames of the signal [batch, length, 1 or 2] (taken with a gather of constant indices),
// each multiplied by the window, each transformed: [batch, frames, bins, 2].
defineOnnxOp('STFT', (n) => {
  const b = n.b;
  const x = n.input(0);
  checkSignal(n, x);
  const [batch, length, parts] = typeOf(x).shape as [number, number, number];
  if (typeOf(x).shape.length !== 3) n.fail(`its signal must be [batch, length, 1 or 2], got [${typeOf(x).shape.join(',')}]`);
  const step = n.values(1, 'frame_step')[0]!;
  const window = n.optional(2);
  const frameLength = window ? typeOf(window).shape[0]! : n.optionalValues(3, 'frame_length')?.[0];
  if (frameLength === undefined) return n.fail('needs a window or a frame_length');
  if (window && n.optional(3) && n.values(3, 'frame_length')[0] !== frameLength) n.fail(`frame_length differs from the window's length ${frameLength}`);
  if (!(step >= 1) || !(frameLength >= 1) || frameLength > length) n.fail(`frame_step ${step} and frame_length ${frameLength} do not frame a signal of ${length}`);
  const frames = Math.floor((length - frameLength) / step) + 1;
  const indices = makeConst('stft_frames', 'i32', [frames, frameLength], Array.from({ length: frames * frameLength }, (_, k) => Math.floor(k / frameLength) * step + (k % frameLength)));
  let framed = b.op('gather', [x, indices], { axis: 1 }); // [batch, frames, frameLength, parts]
  if (window) framed = b.op('mul', [framed, reshapeTo(b, window, [frameLength, 1])]);
  const onesided = n.attrs.int('onesided', 1) !== 0;
  if (onesided && parts === 2) n.fail('onesided needs a real signal');
  return transformLastAxis(b, reshapeTo(b, framed, [batch, frames, frameLength, parts]), { n: frameLength, inverse: false, onesided });
});
