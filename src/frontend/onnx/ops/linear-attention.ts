// ONNX LinearAttention: the recurrent state update of linear, gated, delta and gated-delta
// attention, as kiln's linear_attention op (sequential over the steps, computed in f32 as
// ONNX specifies); the head reshapes around it are ordinary kiln ops.
import { typeOf, type Operand } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { mergeHeads, splitHeads } from './attention.js';
import { castTo, reshapeTo } from './helpers.js';

/** Which of the two refinements each update rule applies. */
const UPDATE_RULES: Readonly<Record<string, { gating: boolean; delta: boolean }>> = {
  linear: { gating: false, delta: false },
  gated: { gating: true, delta: false },
  delta: { gating: false, delta: true },
  gated_delta: { gating: true, delta: true },
};

/** A per-head value [B, T, H] as [B, H, T, 1]. */
function perHead(n: OnnxNode, x: Operand): Operand {
  const [batch, steps, heads] = typeOf(x).shape as [number, number, number];
  return n.b.op('transpose', [reshapeTo(n.b, x, [batch, steps, heads, 1])], { perm: [0, 2, 1, 3] });
}

defineOnnxOp('LinearAttention', (n) => {
  const ruleName = n.attrs.string('update_rule', 'gated_delta');
  const rule = UPDATE_RULES[ruleName];
  if (!rule) return n.unsupported(`update_rule '${ruleName}' is not supported (linear, gated, delta and gated_delta are)`);
  if (n.optional(6)) n.unsupported('the erase_gate input is not supported');
  const [decayIn, betaIn] = [n.optional(4), n.optional(5)];
  if (rule.gating !== (decayIn !== undefined)) n.fail(`update_rule '${ruleName}' ${rule.gating ? 'needs' : 'takes no'} decay input`);
  if (rule.delta !== (betaIn !== undefined)) n.fail(`update_rule '${ruleName}' ${rule.delta ? 'needs' : 'takes no'} beta input`);
  const [qIn, kIn, vIn] = [n.input(0), n.input(1), n.input(2)];
  for (const x of [qIn, kIn, vIn]) if (typeOf(x).shape.length !== 3) n.fail(`query, key and value must be [B, T, H * D], got rank ${typeOf(x).shape.length}`);
  const [qHeads, kvHeads] = [n.attrs.int('q_num_heads', 0), n.attrs.int('kv_num_heads', 0)];
  const f32 = (x: Operand) => castTo(n.b, x, 'f32');
  const q = f32(splitHeads(n, qIn, qHeads, 'query'));
  const k = f32(splitHeads(n, kIn, kvHeads, 'key'));
  const v = f32(splitHeads(n, vIn, kvHeads, 'value'));
  const [batch, , steps, dk] = typeOf(k).shape as [number, number, number, number];
  const dv = typeOf(v).shape[3]!;
  const past = n.optional(3);
  const state = past ? f32(past) : n.b.scalar('f32', 0, [batch, kvHeads, dk, dv]);
  let decay: Operand = n.b.scalar('f32', 0, [batch, kvHeads, steps, 1]);
  if (decayIn) decay = f32(typeOf(decayIn).shape[2] === kvHeads ? perHead(n, decayIn) : splitHeads(n, decayIn, kvHeads, 'decay'));
  const scale = n.attrs.float('scale', 0) || 1 / Math.sqrt(dk);
  const [y, present] = n.b.ops('linear_attention', [q, k, v, state, decay, ...(betaIn ? [f32(perHead(n, betaIn))] : [])], { scale, delta: rule.delta });
  const dtype = typeOf(qIn).dtype;
  return [castTo(n.b, mergeHeads(n, y!), dtype), castTo(n.b, present!, past ? typeOf(past).dtype : dtype)];
});
