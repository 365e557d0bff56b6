import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/ir/parser.js';
import { placeDevices } from '../../src/passes/place-devices.js';
import { expectPass } from './helpers.js';

// String values live on the host: placement runs every node reading or making one on the CPU,
// whatever device it was given, and refuses to move a string to a GPU.

describe('place-devices with string values', () => {
  it('a node on strings runs on the CPU even where it has a WebGPU kernel; numbers cross around it', () => {
    expectPass(placeDevices, `
      graph g(%x: f32[2000] @webgpu) -> (bool[2000] @webgpu) {
        %0 = cast(%x) {to = "string"} : string[2000] @webgpu
        %1 = equal(%0, %0) : bool[2000] @webgpu
        %2 = logical_not(%1) : bool[2000] @webgpu
        return %2
      }`, `
      graph g(%x: f32[2000] @webgpu) -> (bool[2000] @webgpu) {
        %3 = transfer(%x) : f32[2000] @cpu
        %0 = cast(%3) {to = "string"} : string[2000] @cpu
        %1 = equal(%0, %0) : bool[2000] @cpu
        %4 = transfer(%1) : bool[2000] @webgpu
        %2 = logical_not(%4) : bool[2000] @webgpu
        return %2
      }`);
  });

  it('a string constant is made on the CPU; a string output stays there', () => {
    expectPass(placeDevices, `
      graph g() -> (string[2] @webgpu) {
        %c = const() {value = ["a", "b"]} : string[2] @webgpu
        %0 = string_concat(%c, %c) : string[2] @webgpu
        return %0
      }`, `
      graph g() -> (string[2] @cpu) {
        %c = const() {value = ["a", "b"]} : string[2] @cpu
        %0 = string_concat(%c, %c) : string[2] @cpu
        return %0
      }`);
  });

  it('a string input declared on a GPU is an error naming the value', () => {
    const g = parseGraph(`
      graph g(%x: string[2] @webgpu) -> (bool[2] @webgpu) {
        %0 = equal(%x, %x) : bool[2] @webgpu
        return %0
      }`);
    expect(() => placeDevices.run(g, {})).toThrow(/%x \(string\[2\] @webgpu\) would have to move to cpu, but string tensors live on the host only/);
  });
});
