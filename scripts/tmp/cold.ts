import { compile } from '../../src/compiler.js';
import { loadModel } from '../../src/frontend/load-model.js';
import { acquireDevice } from '../../src/runtime/device.js';
import { Session } from '../../src/runtime/session.js';
const [model, shape, ...choices] = process.argv.slice(2);
const graph = await loadModel(model!, { inputShapes: { x: shape!.split(',').map(Number) } });
for (const c of choices) {
  const forced = new Map(c === 'heuristic' ? [] : c.split(',').map((kv) => kv.split('=') as [string, string]));
  const dw = (sig: string) => { const m = /^\w+:\d+x(\d+)x.*:g(\d+)$/.exec(sig); return !!m && Number(m[1]) === Number(m[2]); };
  const p = compile(graph, { adapterClass: 'software', choose: (f, s, vs) => { if (c === 'dw' && f === 'conv') return dw(s) ? 'rows' : 'direct'; const v = forced.get(f); return v && vs.includes(v) ? v : undefined; } });
  const gpu = await acquireDevice();
  const t0 = performance.now();
  const s = await Session.create(gpu, p);
  console.log(c, 'kernels', p.kernels.length, 'create ms', (performance.now() - t0).toFixed(0));
  s.destroy();
}
process.exit(0);
