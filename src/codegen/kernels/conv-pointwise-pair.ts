import { KilnError } from '../../ir/errors.js';
import { WORKGROUP_FLOATS } from '../../ir/fusion.js';
import { dCeilDiv, dimRange, dIsMultiple, type Dim } from '../../ir/size-expr.js';
import { MAX_WORKGROUPS_PER_DIMENSION as MAX_GROUPS, wgslType } from '../wgsl.js';
import { biasTerm, convModule, lane, rowVec4Io, type ConvKernelSpec } from './conv-common.js';
import { rowColumns, type RowColumns, windowOffsets } from './conv-row-columns.js';
import { accumulators, channelQuads, MAX_ROW_TAPS, MAX_SHARED_WEIGHTS, sharedWeightsLoop, tapRow, type RowLoop } from './conv-rows.js';
import { declareOutputVec4 } from './epilogue.js';
import type { EmittedKernel } from './kernel.js';
import { declareWeight } from './weight-load.js';
import { depthwisePrologue, depthwisePrologueProblem } from './conv-depthwise-prologue.js';

// A convolution and the 1x1 convolution reading its output (a MobileNet block's projection, then
// the next block's expansion; a stem, then a 1x1 conv) as one kernel, for adapters that run
// workgroups as SIMD loops on a CPU: each dispatch there costs a hand-off to the shader threads
// and back (about 0.035 ms on lavapipe with 2 threads, measured by `kiln profile` as the dispatch
// floor), so PP-OCR cls's 48 dispatches spent a third of its device time on it. A workgroup takes
// 32 adjacent output columns of one row: it computes all of the first conv's channels there as
// the row kernel with shared weights does (conv-rows.ts), stores them (the first conv's output is
// often a residual later too) and keeps them in workgroup memory, then computes the second conv's
// channels from that tile. With its twelve pairs so, PP-OCR cls took 4.35-4.39 instead of
// 4.75-4.85 ms a run (warm medians of 200 alternating runs); its cold compile on lavapipe (no
// shader cache) grew from 9.6 to 14 s. A depthwise conv in front of a 1x1 first conv is computed
// where the first loads its input (conv-depthwise-prologue.ts).

/** Invocations of a workgroup (one SIMD row of lavapipe's 8 lanes) and output columns of each. */
const LANES = 8;
const PIXELS = 4;
/**
 * Output channels an invocation accumulates at once: 16 for the first conv (as the row kernel with
 * shared weights), 8 for the second. On PP-OCR cls (ten pairs; warm medians of 180 alternating
 * runs, two rounds) 16 and 8 took 4.51 and 4.48 ms, 16 and 16 4.52 and 4.51, 8 and 8 4.62 and
 * 4.58, unpaired 4.78 and 4.79; lavapipe compiled the model cold in 14.5, 18.5 and 10.4 s (9.6
 * unpaired): its compile time grows with the accumulators.
 */
const FIRST_CHANNELS = 16;
const SECOND_CHANNELS = 8;
/**
 * Storage buffers the kernel may bind: both convolutions' tensors, up to 11 for a MobileNet
 * block's pair. fuse-pointwise-pairs pairs only within the target adapter's limit (lavapipe
 * offers 16); hand-written IR beyond a device's is refused when the program loads there.
 */
const MAX_PAIR_STORAGE = 16;
/** The widest window of the first conv: a row of its weights for 8 channels fits MAX_SHARED_WEIGHTS. */
const MAX_FIRST_WINDOW = 3;

/**
 * An ungrouped convolution `first` (a window at most 3 wide: its weights are shared across a
 * subgroup as in `rowsg`) and a 1x1 convolution `second` (stride 1, unpadded, ungrouped) reading
 * `first`'s output.
 */
export interface PointwisePairSpec {
  readonly name: string;
  readonly first: ConvKernelSpec;
  /** Its `sources.x` is unused: it reads the first's output from the tile. */
  readonly second: ConvKernelSpec;
  /**
   * A depthwise conv whose output `first` (then 1x1) alone reads: computed as `first` reads it
   * (conv-depthwise-prologue.ts), `first`'s `sources.x` unused.
   */
  readonly depthwise?: ConvKernelSpec;
}

/** Why the pair kernel cannot run `spec`, or undefined. */
export function pointwisePairProblem(spec: PointwisePairSpec): string | undefined {
  const [a, b] = [spec.first.geometry, spec.second.geometry];
  if (a.groups !== 1 || a.kernelW > MAX_FIRST_WINDOW || a.kernelH * a.kernelW > MAX_ROW_TAPS) return `the first must be ungrouped, its window at most ${MAX_FIRST_WINDOW} wide`;
  if (b.kernelH !== 1 || b.kernelW !== 1 || b.strideH !== 1 || b.strideW !== 1 || b.groups !== 1 || b.padTop + b.padLeft + b.padBottom + b.padRight !== 0) return 'the second must be a 1x1 convolution of stride 1, unpadded and ungrouped';
  if (b.inChannels !== a.outChannels) return `the second reads ${b.inChannels} channels, the first writes ${a.outChannels}`;
  if (a.outChannels * LANES * PIXELS > WORKGROUP_FLOATS) return `${a.outChannels} channels between them do not fit workgroup memory`;
  if (spec.first.input || spec.first.xDType || spec.second.xDType) return 'the first must read x as stored';
  if (spec.depthwise) {
    const problem = depthwisePrologueProblem(spec.depthwise, spec.first);
    if (problem) return problem;
    // Its values are computed once a pass of the first's channels: one pass, so once.
    if (a.outChannels > FIRST_CHANNELS) return `the conv after a depthwise one must have at most ${FIRST_CHANNELS} output channels`;
  }
  const io = [rowVec4Io(spec.first, PIXELS), rowVec4Io(spec.second, PIXELS)];
  if (!io[0]!.x || !io[0]!.out || !io[1]!.out || !dIsMultiple(b.outW, 4)) return 'rows must be a multiple of 4 long';
  const max = (d: Dim) => dimRange(d)[1];
  if (max(a.outH) > MAX_GROUPS || max(a.batch) > MAX_GROUPS) return 'the grid does not fit a dispatch';
  return undefined;
}

/**
 * The pair's kernel: needs `subgroups` (the weights are loaded once a subgroup and shuffled, as
 * in the row kernel's shared-weight loop).
 */
export function emitConvPointwisePair(spec: PointwisePairSpec): EmittedKernel {
  const problem = pointwisePairProblem(spec);
  if (problem) throw new KilnError(`${spec.name}: ${problem}`);
  const [A, B] = [spec.first, spec.second];
  const g = A.geometry;
  const mid = g.outChannels;
  const tileRow = LANES; // vec4s of a tile channel: the workgroup's 32 columns
  const D = spec.depthwise;
  // With a depthwise conv in front, x is its input, which the prologue declares.
  const { m, wt, value } = convModule(A, { OB: B.geometry.outChannels }, { x: !D, out: true }, !D);
  m.allowStorage(MAX_PAIR_STORAGE);
  const wt2 = declareWeight(m, 'wt2', B.dtype, B.sources.w, B.wInt8);
  if (B.hasBias) m.read('bias2', B.dtype, B.sources.bias!);
  const out2 = declareOutputVec4(m, B.epilogue, B.dtype, B.sources.out, 'out2', { fn: 'epilogue2', operand: 'f' });
  m.declare(`var<workgroup> tile: array<vec4<f32>, ${mid * tileRow}>;`);
  m.enable('subgroups');
  const L: string[] = [];
  L.push('  let n = wid.z;', '  let oh = wid.y;', `  let ow0 = (wid.x * ${LANES}u + lid.x) * ${PIXELS}u;`, '  let H = i32(u.H);', '  let W = i32(u.W);');
  L.push('  let xg = u.xOff + n * u.xsN;', '  let ostride = u.OH * u.OW;', '  let opix = oh * u.OW + ow0;');
  const pixels = Array.from({ length: PIXELS }, (_, p) => p);
  // The input columns the first conv's taps read, relative to the first column's window start.
  const offset = (p: number, kw: number) => p * g.strideW + kw * g.dilationW;
  const offsets = windowOffsets(PIXELS, g.kernelW, offset);
  const columns = D ? depthwisePrologue(m, D) : rowColumns(g, offsets, true);
  L.push(...columns.setup);
  // The first conv, FIRST_CHANNELS output channels at a time (fewer where a window row's weights
  // for them would outgrow MAX_SHARED_WEIGHTS): the row kernel's shared-weight loop.
  const TA = Math.min(FIRST_CHANNELS, Math.floor(MAX_SHARED_WEIGHTS / g.kernelW), mid);
  const loopA = rowLoop(TA, columns, A.inputScale ? ' * f32(xs[n * u.xsB + ci])' : '', wt, offset);
  L.push(`  for (var oc0 = 0u; oc0 < ${mid}u; oc0 += ${TA}u) {`);
  L.push(...channelBases(TA, `u.Og`, `u.Cg * ${g.kernelH * g.kernelW}u`), ...accumulators(PIXELS, loopA, '    '));
  L.push(...sharedWeightsLoop(g, loopA).map((l) => `  ${l}`));
  for (let c = 0; c < TA; c++) {
    // As stored (through the epilogue, in the output's dtype), since that is what the second reads.
    const v = (p: number) => `f32(${value(`${lane(`acc${p}_${c >> 2}`, loopA.width(c >> 2), c & 3)}${biasTerm(A, `oc0 + ${c}u`)}`, `obase + ${p}u`)})`;
    L.push(`    if (oc0 + ${c}u < ${mid}u) {`, `      let obase = (n * u.O + oc0 + ${c}u) * ostride + opix;`);
    L.push(`      let y = vec4<f32>(${pixels.map(v).join(', ')});`);
    L.push(`      if (ow0 < u.OW) { out[obase / 4u] = vec4<${wgslType(A.epilogue?.outDType ?? A.dtype)}>(y); }`);
    L.push(`      tile[(oc0 + ${c}u) * ${tileRow}u + lid.x] = y;`, '    }');
  }
  L.push('  }');
  // The second conv from the tile: input channel ci's four columns are the vec4 this invocation
  // stored there (each reads back only its own, so no barrier is needed).
  const TB = Math.min(SECOND_CHANNELS, B.geometry.outChannels);
  const tileColumns: RowColumns = { setup: [], load: (ind) => [`${ind}let t = tile[ci * ${tileRow}u + lid.x];`, ...pixels.map((p) => `${ind}let v${p} = t[${p}];`)] };
  const loopB = rowLoop(TB, tileColumns, '', wt2, (p) => p);
  L.push(`  for (var oc0 = 0u; oc0 < u.OB; oc0 += ${TB}u) {`);
  L.push(...channelBases(TB, 'u.OB', `${mid}u`), ...accumulators(PIXELS, loopB, '    '));
  L.push(`    for (var c0 = 0u; c0 < ${mid}u; c0 += chunk) {`, `      let wl = min(c0 + sgLane, ${mid - 1}u);`, `      let steps = min(chunk, ${mid}u - c0);`);
  for (let c = 0; c < TB; c++) L.push(`      let sw${c}_0 = ${wt2.at(`w${c} + wl`, `ch${c}`)};`);
  L.push('      for (var cs = 0u; cs < steps; cs++) {', '        let ci = c0 + cs;');
  L.push(...tapRow({ ...g, kernelW: 1 }, loopB, (c) => `subgroupShuffle(sw${c}_0, cs)`, '        '));
  L.push('      }', '    }');
  for (let c = 0; c < TB; c++) {
    const v = (p: number) => `${lane(`acc${p}_${c >> 2}`, loopB.width(c >> 2), c & 3)}${B.hasBias ? ` + f32(bias2[oc0 + ${c}u])` : ''}`;
    L.push(`    if (oc0 + ${c}u < u.OB && ow0 < u.OW) { ${out2.store4(`(n * u.OB + oc0 + ${c}u) * ostride + opix`, pixels.map(v))} }`);
  }
  L.push('  }');
  const body = [`  let chunk = min(sgSize, ${LANES}u);`, ...L];
  const builtins = '@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sgLane: u32, @builtin(subgroup_size) sgSize: u32';
  const groups = (d: Dim): Dim => (typeof d === 'number' ? Math.max(1, Math.ceil(d / (LANES * PIXELS))) : dCeilDiv(d, LANES * PIXELS));
  return m.kernel(spec.name, { workgroupSize: LANES, builtins, body }, [groups(g.outW), g.outH, g.batch]);
}

/** The row loop's shape for `TO` channels of this kernel's `PIXELS` columns. */
function rowLoop(TO: number, columns: RowColumns, scale: string, wt: RowLoop['wt'], offset: RowLoop['offset']): RowLoop {
  return { TO, TP: PIXELS, WG: LANES, ...channelQuads(TO), columns, offset, scale, wt };
}

/** Each block channel's output channel (clamped: channels past the end are computed, never stored) and first weight. */
function channelBases(TO: number, channels: string, inputs: string): string[] {
  return Array.from({ length: TO }, (_, c) => [`    let ch${c} = min(oc0 + ${c}u, ${channels} - 1u);`, `    let w${c} = ch${c} * ${inputs};`]).flat();
}
