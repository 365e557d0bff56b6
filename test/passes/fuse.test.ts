import { describe, expect, it } from 'vitest';
import { fuseElementwise } from '../../src/passes/fuse.js';
import { fuseSqueezeExcite } from '../../src/passes/fuse-squeeze-excite.js';
import { parseGraph } from '../../src/ir/parser.js';
import { expectPass, ir } from './helpers.js';
import { expectRoundTrip } from '../ir/roundtrip.js';

describe('fuse', () => {
  it('fuses a bias add and relu into one kernel named after its ops', () => {
    expectPass(fuseElementwise, `
      graph g(%x: f32[4,5] @webgpu, %b: f32[5] @webgpu) -> (f32[4,5] @webgpu) {
        %0 = neg(%x) : f32[4,5] @webgpu
        %1 = add(%0, %b) : f32[4,5] @webgpu
        %2 = relu(%1) : f32[4,5] @webgpu
        return %2
      }`, `
      graph g(%x: f32[4,5] @webgpu, %b: f32[5] @webgpu) -> (f32[4,5] @webgpu) {
        %2 = fused(%x, %b) {body = graph neg_add_relu(%x: f32[4,5] @webgpu, %b: f32[5] @webgpu) -> (f32[4,5] @webgpu) {
            %0 = neg(%x) : f32[4,5] @webgpu
            %1 = add(%0, %b) : f32[4,5] @webgpu
            %2 = relu(%1) : f32[4,5] @webgpu
            return %2
          }} : f32[4,5] @webgpu
        return %2
      }`);
  });

  it('fuses elementwise work into a matmul epilogue, but not ops that grow its shape', () => {
    expectPass(fuseElementwise, `
      graph g(%x: f32[4,3] @webgpu, %w: f32[3,5] @webgpu, %b: f32[5] @webgpu, %big: f32[2,4,5] @webgpu) -> (f32[2,4,5] @webgpu) {
        %0 = matmul(%x, %w) : f32[4,5] @webgpu
        %1 = add(%0, %b) : f32[4,5] @webgpu
        %2 = relu(%1) : f32[4,5] @webgpu
        %3 = mul(%2, %big) : f32[2,4,5] @webgpu
        return %3
      }`, `
      graph g(%x: f32[4,3] @webgpu, %w: f32[3,5] @webgpu, %b: f32[5] @webgpu, %big: f32[2,4,5] @webgpu) -> (f32[2,4,5] @webgpu) {
        %2 = fused(%x, %w, %b) {anchor = 0, body = graph matmul_add_relu(%x: f32[4,3] @webgpu, %w: f32[3,5] @webgpu, %b: f32[5] @webgpu) -> (f32[4,5] @webgpu) {
            %0 = matmul(%x, %w) : f32[4,5] @webgpu
            %1 = add(%0, %b) : f32[4,5] @webgpu
            %2 = relu(%1) : f32[4,5] @webgpu
            return %2
          }, reads = "plain,plain"} : f32[4,5] @webgpu
        %3 = mul(%2, %big) : f32[2,4,5] @webgpu
        return %3
      }`);
  });

  it('fuses a value read twice when both readers join, but never a graph output into its reader', () => {
    expectPass(fuseElementwise, `
      graph g(%x: f32[4] @webgpu) -> (f32[4] @webgpu, f32[4] @webgpu) {
        %0 = neg(%x) : f32[4] @webgpu
        %1 = relu(%0) : f32[4] @webgpu
        %2 = add(%0, %1) : f32[4] @webgpu
        %3 = exp(%2) : f32[4] @webgpu
        return %3, %2
      }`, `
      graph g(%x: f32[4] @webgpu) -> (f32[4] @webgpu, f32[4] @webgpu) {
        %2 = fused(%x) {body = graph neg_relu_add(%x: f32[4] @webgpu) -> (f32[4] @webgpu) {
            %0 = neg(%x) : f32[4] @webgpu
            %1 = relu(%0) : f32[4] @webgpu
            %2 = add(%0, %1) : f32[4] @webgpu
            return %2
          }} : f32[4] @webgpu
        %3 = exp(%2) : f32[4] @webgpu
        return %3, %2
      }`);
  });

  it('does not fuse a value that a node outside the group also reads', () => {
    const text = `
      graph g(%x: f32[4] @webgpu) -> (f32[4] @webgpu, f32[4] @webgpu) {
        %0 = neg(%x) : f32[4] @webgpu
        %1 = relu(%0) : f32[4] @webgpu
        %2 = exp(%0) : f32[4] @webgpu
        return %1, %2
      }`;
    expectPass(fuseElementwise, text, text);
  });

  it('merges two producer chains into their common consumer (a tree)', () => {
    expectPass(fuseElementwise, `
      graph g(%x: f32[4] @webgpu, %y: f32[4] @webgpu) -> (f32[4] @webgpu) {
        %0 = neg(%x) : f32[4] @webgpu
        %1 = relu(%y) : f32[4] @webgpu
        %2 = mul(%0, %1) : f32[4] @webgpu
        return %2
      }`, `
      graph g(%x: f32[4] @webgpu, %y: f32[4] @webgpu) -> (f32[4] @webgpu) {
        %2 = fused(%x, %y) {body = graph neg_relu_mul(%x: f32[4] @webgpu, %y: f32[4] @webgpu) -> (f32[4] @webgpu) {
            %0 = neg(%x) : f32[4] @webgpu
            %1 = relu(%y) : f32[4] @webgpu
            %2 = mul(%0, %1) : f32[4] @webgpu
            return %2
          }} : f32[4] @webgpu
        return %2
      }`);
  });

  it('stops growing a group at 8 storage bindings', () => {
    const adds = Array.from({ length: 8 }, (_, i) => `  %s${i} = add(${i === 0 ? '%a0' : `%s${i - 1}`}, %a${i + 1}) : f32[2] @webgpu`);
    const params = Array.from({ length: 9 }, (_, i) => `%a${i}: f32[2] @webgpu`).join(', ');
    const g = parseGraph(ir(`graph g(${params}) -> (f32[2] @webgpu) {\n${adds.join('\n')}\n  return %s7\n}`));
    const out = fuseElementwise.run(g, {});
    for (const n of out.nodes.filter((n) => n.op === 'fused')) expect(n.inputs.length + 1).toBeLessThanOrEqual(8);
    expect(out.nodes.length).toBeGreaterThan(1);
    expectRoundTrip(out);
  });
  it('a reduction reads a transposed input through the view: the transpose is copied into its body, read "view"', () => {
    expectPass(fuseElementwise, `
      graph g(%x: f32[5,6,7] @webgpu) -> (f32[7,5] @webgpu) {
        %0 = transpose(%x) {perm = [2,0,1]} : f32[7,5,6] @webgpu
        %1 = sum(%0) {axes = [2]} : f32[7,5] @webgpu
        return %1
      }`, `
      graph g(%x: f32[5,6,7] @webgpu) -> (f32[7,5] @webgpu) {
        %0 = transpose(%x) {perm = [2, 0, 1]} : f32[7,5,6] @webgpu
        %1 = fused(%x) {anchor = 1, body = graph sum(%x: f32[5,6,7] @webgpu) -> (f32[7,5] @webgpu) {
            %0 = transpose(%x) {perm = [2, 0, 1]} : f32[7,5,6] @webgpu
            %1 = sum(%0) {axes = [2]} : f32[7,5] @webgpu
            return %1
          }, reads = "view"} : f32[7,5] @webgpu
        return %1
      }`);
  });

  it('a matmul reads an int8 weight through a transpose (a one-row product\'s [N, K] weight): both copied into its body, read "dequantize"', () => {
    expectPass(fuseElementwise, `
      graph g(%x: f32[1,8] @webgpu, %q: u32[8] @webgpu, %s: f32[4] @webgpu) -> (f32[1,4] @webgpu) {
        %0 = dequantize_int8(%q, %s) {axis = 0, shape = [4, 8]} : f32[4,8] @webgpu
        %1 = transpose(%0) {perm = [1, 0]} : f32[8,4] @webgpu
        %2 = matmul(%x, %1) : f32[1,4] @webgpu
        return %2
      }`, `
      graph g(%x: f32[1,8] @webgpu, %q: u32[8] @webgpu, %s: f32[4] @webgpu) -> (f32[1,4] @webgpu) {
        %0 = dequantize_int8(%q, %s) {axis = 0, shape = [4, 8]} : f32[4,8] @webgpu
        %1 = transpose(%0) {perm = [1, 0]} : f32[8,4] @webgpu
        %2 = fused(%q, %s, %x) {anchor = 2, body = graph matmul(%q: u32[8] @webgpu, %s: f32[4] @webgpu, %x: f32[1,8] @webgpu) -> (f32[1,4] @webgpu) {
            %0 = dequantize_int8(%q, %s) {axis = 0, shape = [4, 8]} : f32[4,8] @webgpu
            %1 = transpose(%0) {perm = [1, 0]} : f32[8,4] @webgpu
            %2 = matmul(%x, %1) : f32[1,4] @webgpu
            return %2
          }, reads = "plain,dequantize"} : f32[1,4] @webgpu
        return %2
      }`);
  });

  it('a dequantized weight\'s bindings are counted before the epilogue\'s: the epilogue stops short, not the weight\'s read', () => {
    // x, the weight's codes, scales and zero points, and the output leave 3 of 8 bindings for the
    // epilogue; taking e3 too would leave the weight to a kernel of its own, dequantized every run.
    expectPass(fuseElementwise, `
      graph g(%x: f32[1,8] @webgpu, %c: u32[8] @webgpu, %s: f32[4] @webgpu, %z: u32[1] @webgpu, %e0: f32[4] @webgpu, %e1: f32[4] @webgpu, %e2: f32[1,4] @webgpu, %e3: f32[1,4] @webgpu) -> (f32[1,4] @webgpu) {
        %0 = dequantize_blocks(%c, %s, %z) {bits = 8, block = 8, shape = [8, 4]} : f32[8,4] @webgpu
        %1 = matmul(%x, %0) : f32[1,4] @webgpu
        %2 = add(%1, %e0) : f32[1,4] @webgpu
        %3 = mul(%2, %e1) : f32[1,4] @webgpu
        %4 = add(%3, %e2) : f32[1,4] @webgpu
        %5 = add(%4, %e3) : f32[1,4] @webgpu
        return %5
      }`, `
      graph g(%x: f32[1,8] @webgpu, %c: u32[8] @webgpu, %s: f32[4] @webgpu, %z: u32[1] @webgpu, %e0: f32[4] @webgpu, %e1: f32[4] @webgpu, %e2: f32[1,4] @webgpu, %e3: f32[1,4] @webgpu) -> (f32[1,4] @webgpu) {
        %0 = dequantize_blocks(%c, %s, %z) {bits = 8, block = 8, shape = [8, 4]} : f32[8,4] @webgpu
        %4 = fused(%c, %s, %z, %x, %e0, %e1, %e2) {anchor = 1, body = graph matmul_add_mul_add(%c: u32[8] @webgpu, %s: f32[4] @webgpu, %z: u32[1] @webgpu, %x: f32[1,8] @webgpu, %e0: f32[4] @webgpu, %e1: f32[4] @webgpu, %e2: f32[1,4] @webgpu) -> (f32[1,4] @webgpu) {
            %0 = dequantize_blocks(%c, %s, %z) {bits = 8, block = 8, shape = [8, 4]} : f32[8,4] @webgpu
            %1 = matmul(%x, %0) : f32[1,4] @webgpu
            %2 = add(%1, %e0) : f32[1,4] @webgpu
            %3 = mul(%2, %e1) : f32[1,4] @webgpu
            %4 = add(%3, %e2) : f32[1,4] @webgpu
            return %4
          }, reads = "plain,dequantize"} : f32[1,4] @webgpu
        %5 = add(%4, %e3) : f32[1,4] @webgpu
        return %5
      }`);
  });
});


describe('fuse-se', () => {
  it('leaves a concat of 8 or more sources alone (it runs as copies, reading no views)', () => {
    const g = `
      graph g(%a: f32[2] @webgpu, %b: f32[2] @webgpu, %c: f32[2] @webgpu, %d: f32[2] @webgpu, %e: f32[2] @webgpu, %f: f32[2] @webgpu, %g: f32[2] @webgpu, %h: f32[2] @webgpu) -> (f16[8,2] @webgpu) {
        %0 = reshape(%a) {shape = [1, 2]} : f32[1,2] @webgpu
        %1 = reshape(%b) {shape = [1, 2]} : f32[1,2] @webgpu
        %2 = reshape(%c) {shape = [1, 2]} : f32[1,2] @webgpu
        %3 = reshape(%d) {shape = [1, 2]} : f32[1,2] @webgpu
        %4 = reshape(%e) {shape = [1, 2]} : f32[1,2] @webgpu
        %5 = reshape(%f) {shape = [1, 2]} : f32[1,2] @webgpu
        %6 = reshape(%g) {shape = [1, 2]} : f32[1,2] @webgpu
        %7 = reshape(%h) {shape = [1, 2]} : f32[1,2] @webgpu
        %8 = concat(%0, %1, %2, %3, %4, %5, %6, %7) : f32[8,2] @webgpu
        %9 = cast(%8) {to = "f16"} : f16[8,2] @webgpu
        return %9
      }`;
    expectPass(fuseElementwise, g, g);
  });

  it('turns pool -> 1x1 conv -> act -> 1x1 conv -> act into one fused node', () => {
    expectPass(fuseSqueezeExcite, `
      graph g(%x: f32[1,8,3,4] @webgpu, %w1: f32[2,8,1,1] @webgpu, %w2: f32[8,2,1,1] @webgpu) -> (f32[1,8,3,4] @webgpu) {
        %0 = global_avg_pool(%x) : f32[1,8,1,1] @webgpu
        %1 = conv2d(%0, %w1) : f32[1,2,1,1] @webgpu
        %2 = relu(%1) : f32[1,2,1,1] @webgpu
        %3 = conv2d(%2, %w2) : f32[1,8,1,1] @webgpu
        %4 = hardsigmoid(%3) : f32[1,8,1,1] @webgpu
        %5 = mul(%x, %4) : f32[1,8,3,4] @webgpu
        return %5
      }`, `
      graph g(%x: f32[1,8,3,4] @webgpu, %w1: f32[2,8,1,1] @webgpu, %w2: f32[8,2,1,1] @webgpu) -> (f32[1,8,3,4] @webgpu) {
        %4 = fused(%x, %w1, %w2) {body = graph squeeze_excite(%x: f32[1,8,3,4] @webgpu, %w1: f32[2,8,1,1] @webgpu, %w2: f32[8,2,1,1] @webgpu) -> (f32[1,8,1,1] @webgpu) {
            %0 = global_avg_pool(%x) : f32[1,8,1,1] @webgpu
            %1 = conv2d(%0, %w1) : f32[1,2,1,1] @webgpu
            %2 = relu(%1) : f32[1,2,1,1] @webgpu
            %3 = conv2d(%2, %w2) : f32[1,8,1,1] @webgpu
            %4 = hardsigmoid(%3) : f32[1,8,1,1] @webgpu
            return %4
          }, kernel = "squeeze_excite"} : f32[1,8,1,1] @webgpu
        %5 = mul(%x, %4) : f32[1,8,3,4] @webgpu
        return %5
      }`);
  });

  it('under f16: every conv reading the cast f32 input reads it itself; concat + shuffle takes the cast back', () => {
    expectPass(fuseElementwise, `
      graph g(%x: f32[1,4,6,6] @webgpu, %w1: f16[3,4,1,1] @webgpu, %w2: f16[4,1,3,3] @webgpu) -> (f16[1,3,6,6] @webgpu, f32[1,8,6,6] @webgpu) {
        %0 = cast(%x) {to = "f16"} : f16[1,4,6,6] @webgpu
        %1 = conv2d(%0, %w1) : f16[1,3,6,6] @webgpu
        %2 = conv2d(%0, %w2) {groups = 4, padding = [1, 1, 1, 1]} : f16[1,4,6,6] @webgpu
        %3 = concat(%2, %2) {axis = 1} : f16[1,8,6,6] @webgpu
        %4 = channel_shuffle(%3) {groups = 2} : f16[1,8,6,6] @webgpu
        %5 = cast(%4) {to = "f32"} : f32[1,8,6,6] @webgpu
        return %1, %5
      }`, `
      graph g(%x: f32[1,4,6,6] @webgpu, %w1: f16[3,4,1,1] @webgpu, %w2: f16[4,1,3,3] @webgpu) -> (f16[1,3,6,6] @webgpu, f32[1,8,6,6] @webgpu) {
        %0 = cast(%x) {to = "f16"} : f16[1,4,6,6] @webgpu
        %1 = fused(%x, %w1) {anchor = 1, body = graph conv2d(%x: f32[1,4,6,6] @webgpu, %w1: f16[3,4,1,1] @webgpu) -> (f16[1,3,6,6] @webgpu) {
            %0 = cast(%x) {to = "f16"} : f16[1,4,6,6] @webgpu
            %1 = conv2d(%0, %w1) : f16[1,3,6,6] @webgpu
            return %1
          }, reads = "convert,plain"} : f16[1,3,6,6] @webgpu
        %2 = fused(%x, %w2) {anchor = 1, body = graph conv2d(%x: f32[1,4,6,6] @webgpu, %w2: f16[4,1,3,3] @webgpu) -> (f16[1,4,6,6] @webgpu) {
            %0 = cast(%x) {to = "f16"} : f16[1,4,6,6] @webgpu
            %2 = conv2d(%0, %w2) {groups = 4, padding = [1, 1, 1, 1]} : f16[1,4,6,6] @webgpu
            return %2
          }, reads = "convert,plain"} : f16[1,4,6,6] @webgpu
        %5 = fused(%2) {anchor = 0, body = graph concat_channel_shuffle_cast(%2: f16[1,4,6,6] @webgpu) -> (f32[1,8,6,6] @webgpu) {
            %3 = concat(%2, %2) {axis = 1} : f16[1,8,6,6] @webgpu
            %4 = channel_shuffle(%3) {groups = 2} : f16[1,8,6,6] @webgpu
            %5 = cast(%4) {to = "f32"} : f32[1,8,6,6] @webgpu
            return %5
          }, reads = "plain,plain"} : f32[1,8,6,6] @webgpu
        return %1, %5
      }`);
  });
});
