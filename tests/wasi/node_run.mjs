// Runs a WASI (preview 1) command module under Node's built-in node:wasi, as
//   node tests/wasi/node_run.mjs [--stdin FILE] [--env K=V]... [--dir DIR]... [--no-cwd 1] module.wasm [args...]
// The current directory is preopened as "." (unless --no-cwd 1) and each --dir under its own
// (absolute) path, so absolute paths inside it resolve; exits with the module's status.
//
// Node 20 (seen on 20.20.2) crashes (SIGSEGV, or a V8 fatal in the mark-compact collector)
// when a module grows its memory by tens of MiB and then makes a WASI call — a plain C
// program that mallocs 96 MiB and printf()s reproduces it. The crash goes through
// incremental marking; with it off every run is clean, so it is turned off before node:wasi
// loads. Nothing in the module changes.
import v8 from 'node:v8';
v8.setFlagsFromString('--no-incremental-marking');

const { WASI } = await import('node:wasi');
const { readFile } = await import('node:fs/promises');
const { openSync, closeSync } = await import('node:fs');

const argv = process.argv.slice(2);
const env = {};
const preopens = { '.': process.cwd() };
let stdin = 0;
while (argv.length && argv[0].startsWith('--')) {
  const opt = argv.shift();
  const val = argv.shift();
  if (val === undefined) { console.error(`node_run: ${opt} needs a value`); process.exit(2); }
  if (opt === '--stdin') stdin = openSync(val, 'r');
  else if (opt === '--dir') preopens[val] = val;
  else if (opt === '--no-cwd') { if (val === '1') delete preopens['.']; }
  else if (opt === '--env') { const i = val.indexOf('='); env[val.slice(0, i)] = val.slice(i + 1); }
  else { console.error(`node_run: unknown option ${opt}`); process.exit(2); }
}
const [wasmPath, ...args] = argv;
if (!wasmPath) { console.error('usage: node node_run.mjs [--stdin FILE] [--env K=V] prog.wasm [args...]'); process.exit(2); }

const wasi = new WASI({
  version: 'preview1',
  args: [wasmPath, ...args],
  env,
  stdin,
  preopens,
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const code = wasi.start(instance);
if (stdin) closeSync(stdin);
process.exitCode = code;
