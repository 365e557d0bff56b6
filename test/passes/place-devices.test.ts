import { describe, it } from 'vitest';
import { placeDevices } from '../../src/passes/place-devices.js';
import { expectPass } from './helpers.js';

// `neg` plays an op without a WebGPU kernel.
const noGpuNeg = { hasGpuKernel: (op: string) => op !== 'neg' };

describe('place-devices', () => {
  it('an op without a WebGPU kernel falls back to the CPU with exactly two transfers', () => {
    expectPass(placeDevices, `
      graph g(%x: f32[8] @webgpu) -> (f32[8] @webgpu) {
        %0 = relu(%x) : f32[8] @webgpu
        %1 = neg(%0) : f32[8] @webgpu
        %2 = relu(%1) : f32[8] @webgpu
        return %2
      }`, `
      graph g(%x: f32[8] @webgpu) -> (f32[8] @webgpu) {
        %0 = relu(%x) : f32[8] @webgpu
        %3 = transfer(%0) : f32[8] @cpu
        %1 = neg(%3) : f32[8] @cpu
        %4 = transfer(%1) : f32[8] @webgpu
        %2 = relu(%4) : f32[8] @webgpu
        return %2
      }`, noGpuNeg);
  });

  it('a small op between two CPU ops joins them instead of crossing twice', () => {
    expectPass(placeDevices, `
      graph g(%x: f32[8] @webgpu) -> (f32[8] @webgpu) {
        %0 = neg(%x) : f32[8] @webgpu
        %1 = exp(%0) : f32[8] @webgpu
        %2 = neg(%1) : f32[8] @webgpu
        %3 = relu(%2) : f32[8] @webgpu
        return %3
      }`, `
      graph g(%x: f32[8] @webgpu) -> (f32[8] @webgpu) {
        %4 = transfer(%x) : f32[8] @cpu
        %0 = neg(%4) : f32[8] @cpu
        %1 = exp(%0) : f32[8] @cpu
        %2 = neg(%1) : f32[8] @cpu
        %5 = transfer(%2) : f32[8] @webgpu
        %3 = relu(%5) : f32[8] @webgpu
        return %3
      }`, noGpuNeg);
  });

  it('copies constants to the device that reads them instead of transferring', () => {
    expectPass(placeDevices, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %c = const() {value = [1, 2]} : f32[2] @webgpu
        %0 = neg(%c) : f32[2] @webgpu
        %1 = add(%x, %0) : f32[2] @webgpu
        return %1
      }`, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu) {
        %c = const() {value = [1, 2]} : f32[2] @webgpu
        %2 = const() {value = [1, 2]} : f32[2] @cpu
        %0 = neg(%2) : f32[2] @cpu
        %3 = transfer(%0) : f32[2] @webgpu
        %1 = add(%x, %3) : f32[2] @webgpu
        return %1
      }`, noGpuNeg);
  });

  it('a graph split across WebGPU devices crosses between them through transfers; a fallback returns to its own device', () => {
    expectPass(placeDevices, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu:1) {
        %w = const() {value = [1, 2]} : f32[2] @webgpu
        %0 = mul(%x, %w) : f32[2] @webgpu
        %1 = transfer(%0) : f32[2] @webgpu:1
        %v = transfer(%w) : f32[2] @webgpu:1
        %2 = add(%1, %v) : f32[2] @webgpu:1
        %3 = neg(%2) : f32[2] @webgpu:1
        %4 = relu(%3) : f32[2] @webgpu:1
        return %4
      }`, `
      graph g(%x: f32[2] @webgpu) -> (f32[2] @webgpu:1) {
        %w = const() {value = [1, 2]} : f32[2] @webgpu
        %0 = mul(%x, %w) : f32[2] @webgpu
        %5 = transfer(%0) : f32[2] @webgpu:1
        %6 = const() {value = [1, 2]} : f32[2] @webgpu:1
        %2 = add(%5, %6) : f32[2] @webgpu:1
        %7 = transfer(%2) : f32[2] @cpu
        %3 = neg(%7) : f32[2] @cpu
        %8 = transfer(%3) : f32[2] @webgpu:1
        %4 = relu(%8) : f32[2] @webgpu:1
        return %4
      }`, noGpuNeg);
  });

  it('keeps user transfers, drops those that do not cross, and keeps declared output devices and names', () => {
    expectPass(placeDevices, `
      graph g(%x: f32[3] @webgpu) -> (f32[3] @cpu, f32[3] @webgpu) {
        %0 = transfer(%x) : f32[3] @cpu
        %1 = transfer(%0) : f32[3] @cpu
        %2 = exp(%1) : f32[3] @cpu
        %3 = neg(%x) : f32[3] @webgpu
        return %2, %3
      }`, `
      graph g(%x: f32[3] @webgpu) -> (f32[3] @cpu, f32[3] @webgpu) {
        %4 = transfer(%x) : f32[3] @cpu
        %2 = exp(%4) : f32[3] @cpu
        %6 = neg(%4) : f32[3] @cpu
        %3 = transfer(%6) : f32[3] @webgpu
        return %2, %3
      }`, noGpuNeg);
  });
});
