// The values js/src/index.d.ts declares exist in both entries, src/node.js and src/browser.js,
// as what they are declared (a function or class is callable, a const is an object), and the
// default export has the declared members. tsc checks the types hang together; this checks
// they describe the modules. Run by tests/js/run.sh after `npm ci` in js/ (TypeScript's API).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('../../../js/node_modules/typescript');
const dts = fileURLToPath(new URL('../../../js/src/index.d.ts', import.meta.url));

const program = ts.createProgram([dts], { noEmit: true, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [] });
const checker = program.getTypeChecker();
const source = program.getSourceFile(dts);
const declared = new Map();   // name -> 'callable' | 'object', plus the default's members
let defaultMembers = [];
for (let sym of checker.getExportsOfModule(checker.getSymbolAtLocation(source))) {
  const name = sym.getName();
  if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
  if (!(sym.flags & ts.SymbolFlags.Value)) continue;   // types and interfaces: nothing at run time
  const type = checker.getTypeOfSymbolAtLocation(sym, source);
  declared.set(name, type.getCallSignatures().length || type.getConstructSignatures().length ? 'callable' : 'object');
  if (name === 'default') defaultMembers = type.getProperties().map((p) => p.getName());
}

let pass = 0, fail = 0;
const check = (ok, what) => { if (ok) pass++; else { fail++; console.log(`FAIL ${what}`); } };
check(declared.size >= 4 && defaultMembers.length >= 3, `index.d.ts declares values (found ${[...declared.keys()]})`);
for (const entry of ['node.js', 'browser.js']) {
  const m = await import(new URL(`../../../js/src/${entry}`, import.meta.url));
  for (const [name, kind] of declared) {
    const v = m[name];
    check(kind === 'callable' ? typeof v === 'function' : v !== null && typeof v === 'object',
          `src/${entry}: ${name} is declared ${kind}, exported ${v === undefined ? 'nothing' : typeof v}`);
  }
  for (const k of defaultMembers) check(m.default && k in m.default, `src/${entry}: default export lacks ${k}`);
}
console.log(`index.d.ts exports: ${[...declared.keys()].join(', ')}; default: ${defaultMembers.join(', ')}`);
console.log(`types: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
