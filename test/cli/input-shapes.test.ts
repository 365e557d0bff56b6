import { describe, expect, it } from 'vitest';
import { inputShapesFrom } from '../../src/cli/input-shapes.js';

describe('--input-shape', () => {
  it('takes fixed extents, sizes within a range, and multiples of a step within one', () => {
    expect(inputShapesFrom({ 'input-shape': ['x=1,3,32*H<=960,64<=32*W<=960', 'y=N<=32,8<=T<=512'] }))
      .toEqual({ x: [1, 3, '32*H<=960', '64<=32*W<=960'], y: ['N<=32', '8<=T<=512'] });
  });

  it('refuses another form, showing the accepted ones', () => {
    expect(() => inputShapesFrom({ 'input-shape': ['x=1,3,H%32<=960'] })).toThrow(/STEP\*NAME<=MAX .*x=1,3,32\*H<=960,32\*W<=960/);
  });
});
