// Speed of the npm package in Node vs the native CLI on the same model (not part of run.sh):
//   node tests/js/bench.mjs [MODEL] [THREADS]      (EQ_NATIVE_CLI: default build/native/edgeq)
// Prints prompt and generation tokens/s for both, greedy, 64 generated tokens.
import { spawnSync, execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as edgeq from '../../js/src/node.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = process.argv[2] || execFileSync('bash', [path.join(ROOT, 'scripts/get-model.sh')], { encoding: 'utf8' }).trim();
const THREADS = Number(process.argv[3] || 1);
const CLI = process.env.EQ_NATIVE_CLI || path.join(ROOT, 'build/native/edgeq');
const PROMPT = 'The history of the city begins in the early middle ages, when a small settlement grew up around a '
  + 'river crossing. Over the following centuries it became a market town, then a centre of trade and learning, '
  + 'and finally the capital of a region known for';
const N = 64;

const llm = await edgeq.load(MODEL, { threads: THREADS });
const nPrompt = (await llm.tokenize(PROMPT)).length;
let best = null;
for (let rep = 0; rep < 3; rep++) {
  // a different first token each time so nothing is reused from the cache
  const p = `${rep} ${PROMPT}`;
  const t0 = performance.now();
  let t1 = 0, n = 0;
  for await (const _ of llm.complete(p, { temperature: 0, maxTokens: N })) { if (!t1) t1 = performance.now(); n++; }
  const t2 = performance.now();
  const r = { prompt: nPrompt / ((t1 - t0) / 1000), gen: (n - 1) / ((t2 - t1) / 1000) };
  if (!best || r.gen > best.gen) best = r;
}
await llm.dispose();
const out = spawnSync(CLI, ['run', '-m', MODEL, '-p', PROMPT, '-n', String(N), '--temp', '0', '-t', String(THREADS)], { encoding: 'utf8' });
const m = /prompt (\d+) tokens in [\d.]+ s \(([\d.]+) t\/s\), generated (\d+) tokens in [\d.]+ s \(([\d.]+) t\/s\)/.exec(out.stderr);
console.log(`threads ${THREADS}, prompt ${nPrompt} tokens, ${N} generated`);
console.log(`wasm (Node ${process.versions.node}): prompt ${best.prompt.toFixed(1)} t/s, generation ${best.gen.toFixed(1)} t/s (first token included in the prompt time)`);
if (m) console.log(`native CLI:          prompt ${Number(m[2]).toFixed(1)} t/s, generation ${Number(m[4]).toFixed(1)} t/s`);
