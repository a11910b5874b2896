// Runs inside a temp project where the `npm pack` tarball was installed (tests/js/run.sh):
// the package resolves by name, ships its .wasm files and types, and runs a model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import edgeqDefault, { load, EdgeqError } from 'edgeq';

const require = createRequire(import.meta.url);
const MODEL = process.env.EQ_MODEL;
const CLI = process.env.EQ_NATIVE_CLI;

test('the installed package has its files', () => {
  const dir = path.dirname(require.resolve('edgeq/package.json'));
  for (const f of ['src/node.js', 'src/browser.js', 'src/worker.js', 'src/index.d.ts',
    'wasm/edgeq-st.wasm', 'wasm/edgeq-mt.wasm', 'wasm/edgeq-st-relaxed.wasm', 'wasm/edgeq-mt-relaxed.wasm',
    'wasm/web/edgeq-web-st.js', 'wasm/web/edgeq-web-mt.js',
    'wasm/web/edgeq-web-mt.worker.js', 'wasm/node/edgeq-node-st.cjs', 'wasm/node/edgeq-node-mt.cjs']) {
    assert.ok(fs.existsSync(path.join(dir, f)), `${f} is in the package`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  assert.equal(pkg.exports['.'].types, './src/index.d.ts');
  assert.equal(typeof edgeqDefault.load, 'function');
});

test('the installed package loads and runs SmolLM2', async () => {
  const llm = await load(MODEL, { threads: 1 });
  try {
    const ids = await llm.tokenize('Hello world');
    const ref = spawnSync(CLI, ['tokenize', '-m', MODEL, '-p', 'Hello world'], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number);
    assert.deepEqual(ids, ref);
    let text = '';
    for await (const p of llm.complete('Once upon a time, there was a', { temperature: 0, maxTokens: 8 })) text += p;
    const native = spawnSync(CLI, ['run', '-m', MODEL, '-p', 'Once upon a time, there was a', '-n', '8', '--temp', '0', '-t', '1'], { encoding: 'utf8' }).stdout;
    assert.equal(text, native);
  } finally {
    await llm.dispose();
  }
  await assert.rejects(load('/nonexistent/model.gguf', { threads: 1 }), (e) => e instanceof EdgeqError && e.code === 'IO');
});
