// Runs a WASI (preview1) command module under Node's built-in node:wasi and exits with its
// status. Usage: node tests/cross/run-wasi.mjs prog.wasm [args...]
// The current directory is preopened as "." (and "/") so tests can read fixtures by
// relative path.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [, , wasmPath, ...args] = process.argv;
if (!wasmPath) {
  console.error('usage: node run-wasi.mjs prog.wasm [args...]');
  process.exit(2);
}

const wasi = new WASI({
  version: 'preview1',
  args: [wasmPath, ...args],
  env: process.env,
  preopens: { '.': process.cwd(), '/': process.cwd() },
  returnOnExit: true,
});

const module = await WebAssembly.compile(await readFile(wasmPath));
// getImportObject() is Node >= 18.17/19.8; older ones expose wasiImport only.
const imports = wasi.getImportObject ? wasi.getImportObject() : { wasi_snapshot_preview1: wasi.wasiImport };
const instance = await WebAssembly.instantiate(module, imports);
process.exitCode = wasi.start(instance);
