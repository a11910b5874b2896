// How far the WebGPU path is from the CPU path on one model (a measurement, not a test):
// forced decoding over a fixed text (TEXT=... to change it), each path's top-1 per position,
// KL(CPU || GPU), the largest logit difference, the CPU's top-2 margin where the top-1s differ,
// and with REF.gguf (the same weights in F16) each path's top-1 rate and KLD against it.
//   LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
//     node tests/webgpu/agree.mjs MODEL.gguf [REF.gguf|""] [POSITIONS]
// Needs js/ built (js/scripts/build.sh) and npm webgpu (tests/webgpu/run.sh installs it).
import { load } from '../../js/src/node.js';
const cache = process.env.EQ_CACHE ?? `${process.env.HOME}/.cache/edgeq`;
const { create, globals } = await import(process.env.EQ_WEBGPU_MODULE ?? `${cache}/npm-webgpu/node_modules/webgpu/index.js`);
Object.assign(globalThis, globals);
const gpu = create(['backend=vulkan']);
const [path, ref, npos] = [process.argv[2], process.argv[3], +(process.argv[4] ?? 100)];
const TEXT = process.env.TEXT ?? 'The old lighthouse keeper climbed the stairs every evening, counting each step as his father had ' +
    'taught him. Ships no longer needed the light, but he kept it burning anyway, because the town slept ' +
    'better knowing it was there. One winter night a small boat appeared in the fog.';
function lsm(a) { let m = -Infinity; for (const v of a) m = Math.max(m, v); let z = 0; for (const v of a) z += Math.exp(v - m);
  const lz = m + Math.log(z), o = new Float64Array(a.length); for (let i = 0; i < a.length; i++) o[i] = a[i] - lz; return o; }
function kld(p, q) { let s = 0; for (let i = 0; i < p.length; i++) if (p[i] > -80) s += Math.exp(p[i]) * (p[i] - q[i]); return s; }
function am(a) { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; }
async function forced(llm, tokens) {
  const r = [];
  for (let i = 1; i <= tokens.length; i++) {
    for await (const _ of llm.complete(tokens.slice(0, i), { maxTokens: 0 })) {}
    const l = Float32Array.from(await llm.logits()); r.push(l);
  }
  return r;
}
const opts = { threads: 1, contextSize: 1024, gpu };
const cpu = await load(path, { ...opts, device: 'cpu' });
const tokens = (await cpu.tokenize(TEXT)).slice(0, npos);
const C = await forced(cpu, tokens); await cpu.dispose();
const g = await load(path, { ...opts, device: 'webgpu' });
const G = await forced(g, tokens); await g.dispose();
let R = null;
if (ref) { const f = await load(ref, { ...opts, device: 'cpu' }); R = await forced(f, tokens); await f.dispose(); }
let same = 0, kcg = 0, kc = 0, kg = 0, maxd = 0, cr = 0, gr = 0; const n = C.length, near = [];
for (let i = 0; i < n; i++) {
  const a = am(C[i]), b = am(G[i]); if (a === b) same++;
  else { const s = [...C[i]].map((v, j) => [v, j]).sort((x, y) => y[0] - x[0]); near.push((s[0][0] - s[1][0]).toPrecision(2)); }
  let md = 0, sc = 0; for (let j = 0; j < C[i].length; j++) { md = Math.max(md, Math.abs(C[i][j] - G[i][j])); sc = Math.max(sc, Math.abs(C[i][j])); }
  maxd = Math.max(maxd, md / sc);
  const lc = lsm(C[i]), lg = lsm(G[i]); kcg += kld(lc, lg) / n;
  if (R) { const lr = lsm(R[i]); kc += kld(lr, lc) / n; kg += kld(lr, lg) / n; if (am(R[i]) === a) cr++; if (am(R[i]) === b) gr++; }
}
console.log(`n=${n} GPU-vs-CPU top1 ${same}/${n}; KLD(CPU||GPU) ${kcg.toExponential(3)}; max |diff|/max|logit| ${maxd.toExponential(2)}; margins at misses: ${near.join(' ')}`);
if (R) console.log(`vs F16: top1 CPU ${cr} GPU ${gr}; KLD CPU ${kc.toExponential(3)} GPU ${kg.toExponential(3)}`);
process.exit(0);   // Dawn's instance keeps the loop alive
