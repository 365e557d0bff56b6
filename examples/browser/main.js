// Loads a kiln artifact with the runtime alone and runs it on the page's WebGPU adapter.
//   index.html?artifact=/artifacts/mlp.kiln/                 seeded random inputs
//   index.html?artifact=/artifacts/mlp.kiln/&inputs=x.json   inputs from a JSON file:
//     { "NAME": { "dtype": "f32", "shape": [8, 784], "data": [...] } }  (f16 data as raw bits)
//   &keep=1               outputs stay on the device (preferredOutputLocation 'gpu-buffer'), read with getData()
//   &chain=OUT:IN&steps=N  N runs, each feeding output OUT of the run before as input IN (on the device with &keep=1)
// What it ran and got is shown on the page and left in `window.kilnResult` (outputs as plain
// arrays), with `document.body.dataset.state` set to 'done' or 'error' once finished.
import { deviceProblems, InferenceSession, tensorData } from 'kiln/runtime';

const $ = (id) => document.getElementById(id);

/** Seeded normal values (mulberry32 and Box-Muller): the same page gives the same inputs. */
function seededNormals(seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Random inputs for the session's declared inputs: normal floats, small integers, coin-flip bools. */
function randomInputs(session, seed) {
  const next = seededNormals(seed);
  const feeds = {};
  for (const { name, dtype, shape } of session.inputMetadata) {
    // A size that varies from run to run reads as its name ('W'): the page cannot pick it.
    if (shape.some((d) => typeof d !== 'number')) throw new Error(`input '${name}' [${shape.join(',')}] has sizes that vary: give its values with &inputs=FILE.json`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (dtype === 'f16') throw new Error(`input '${name}' is f16: give its values with &inputs=FILE.json (as f16 bits)`);
    const values = Array.from({ length: n }, () => {
      const v = next();
      return dtype === 'f32' ? v : dtype === 'bool' ? (v > 0 ? 1 : 0) : Math.abs(Math.round(v * 3));
    });
    feeds[name] = tensorData(dtype, shape, values);
  }
  return feeds;
}

/** Inputs from a JSON file: { NAME: { dtype, shape, data } }. */
async function inputsFrom(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot fetch inputs ${url}: HTTP ${res.status}`);
  const json = await res.json();
  return Object.fromEntries(Object.entries(json).map(([name, t]) =>
    [name, tensorData(t.dtype, t.shape, t.dtype === 'f16' ? Uint16Array.from(t.data) : t.data)]));
}

function describeOutput(name, t, data) {
  const vals = Array.from(data);
  const min = Math.min(...vals);
  const max = Math.max(...vals);
  const mean = vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
  const row = document.createElement('tr');
  const head = vals.slice(0, 6).map((v) => v.toPrecision(5)).join(', ') + (vals.length > 6 ? ', …' : '');
  for (const [text, cls] of [[name], [`${t.dtype}[${t.shape.join(',')}]`], [head, 'values'], [`${min.toPrecision(4)} / ${max.toPrecision(4)} / ${mean.toPrecision(4)}`, 'values']]) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.append(td);
  }
  return row;
}

function about(term, text) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = text;
  $('about').append(dt, dd);
}

async function main() {
  const params = new URLSearchParams(location.search);
  const artifact = params.get('artifact');
  if (!artifact) {
    $('status').innerHTML = 'Give an artifact folder: <code>?artifact=/artifacts/NAME.kiln/</code> (see README, "In the browser").';
    document.body.dataset.state = 'idle';
    return;
  }
  $('status').textContent = `Loading ${artifact}…`;
  const t0 = performance.now();
  const keep = params.get('keep') === '1';
  const session = await InferenceSession.create(artifact, keep ? { preferredOutputLocation: 'gpu-buffer' } : {});
  const loadMs = performance.now() - t0;
  try {
    const { manifest } = session;
    const variants = manifest.variants.map((v) => v.precision);
    const fallback = session.variant > 0;
    about('model', `${manifest.model} (compiled by ${manifest.compiler.name} ${manifest.compiler.version}, pipeline ${manifest.compiler.pipeline})`);
    about('adapter', session.device.describe());
    // Why the preferred variants were passed over (e.g. 'its fp16 variant needs WebGPU feature(s) shader-f16').
    const skipped = manifest.variants.slice(0, session.variant).map((v) => `its ${v.precision} variant ${deviceProblems(v, session.device).join(' and ')}`);
    const choice = variants.length === 1 ? '' : fallback
      ? ` — the artifact's fallback, as this adapter cannot run the preferred one: ${skipped.join('; ')}`
      : ` — the artifact's first choice (it also has ${variants.slice(1).join(', ')})`;
    about('precision', `${session.precision}${choice}`);

    const inputsUrl = params.get('inputs');
    const feeds = inputsUrl ? await inputsFrom(inputsUrl) : randomInputs(session, Number(params.get('seed') ?? 0));
    const [out, into] = (params.get('chain') ?? ':').split(':');
    const steps = Number(params.get('steps') ?? 1);
    const t1 = performance.now();
    let outputs = await session.run(feeds);
    for (let step = 1; step < steps; step++) {
      const next = await session.run({ ...feeds, [into]: outputs[out] });
      // What the run before kept on the device and no run reads any more.
      for (const t of Object.values(outputs)) t.dispose();
      outputs = next;
    }
    const runMs = performance.now() - t1;
    about('time', `load ${loadMs.toFixed(1)} ms (fetch, validate, pipelines), ${steps === 1 ? 'first run' : `${steps} runs`} ${runMs.toFixed(1)} ms`);
    const locations = Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, t.location]));
    if (keep) about('outputs kept', Object.entries(locations).map(([name, where]) => `${name}: ${where}`).join(', '));
    // getData() downloads an output kept on the device; a host output's data is at hand.
    const data = Object.fromEntries(await Promise.all(Object.entries(outputs).map(async ([name, t]) => [name, await t.getData()])));
    for (const t of Object.values(outputs)) t.dispose();

    const body = $('outputs').querySelector('tbody');
    for (const [name, t] of Object.entries(outputs)) body.append(describeOutput(name, t, data[name]));
    $('outputs').hidden = false;
    $('status').textContent = `Ran ${manifest.model} on WebGPU.`;
    window.kilnResult = {
      model: manifest.model,
      adapter: { ...session.device.info, features: [...session.device.features].sort(), describe: session.device.describe() },
      precision: session.precision,
      variant: session.variant,
      variants,
      skipped,
      outputs: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, { dtype: t.dtype, shape: [...t.shape], data: Array.from(data[name]) }])),
      locations,
      loadMs,
      runMs,
    };
    document.body.dataset.state = 'done';
  } finally {
    await session.release();
  }
}

main().catch((e) => {
  console.error(e);
  const status = $('status');
  status.className = 'error';
  status.textContent = `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  window.kilnResult = { error: `${e?.name ?? 'Error'}: ${e?.message ?? e}` };
  document.body.dataset.state = 'error';
});
