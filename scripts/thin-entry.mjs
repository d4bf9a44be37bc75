// Gives the built Worker a thin entry: the default export becomes a plain module handler that
// calls the wasm `fetch` export directly.
//
//   node scripts/thin-entry.mjs worker/build/index.js
//
// Why: worker-build's generated default export is a Proxy around a `WorkerEntrypoint` class.
// On every request the runtime constructs that class through the Proxy's `construct` trap,
// which builds a second Proxy around the instance; reading `fetch` off it builds a third around
// the method, and calling that one adds an `async` wrapper. `make bench` runs the same build
// with each entry side by side on /health (scripts/build-worker.sh keeps the generated one as
// generated-entry.js) and reports what the thin one saves per request (BENCHMARKS.md, section 1).
//
// What is kept: worker-build's panic recovery. Before each request the handler calls the
// generated `checkReinitialize` (which resets the wasm after a trap), and a trap thrown by the
// request, at once or from its promise, is passed to the generated `handleMaybeCritical`, as
// the generated wrapper does. The Durable Object classes keep worker-build's wrappers: they
// are constructed once per object, not per request.
//
// The generated code is minified, so the script finds its parts by shape and fails the build,
// naming what it could not find, if a worker-build upgrade changes them; it never guesses.
import { readFileSync, writeFileSync } from 'node:fs';

const MARK = '/* tollgate: thin entry */';
const path = process.argv[2];
if (!path) {
  console.error('usage: node scripts/thin-entry.mjs <built index.js>');
  process.exit(2);
}
const source = readFileSync(path, 'utf8');
if (source.includes(MARK)) process.exit(0);

/** The one match of `pattern` in the generated code, or a failed build that says what is missing. */
function one(pattern, what) {
  const found = [...source.matchAll(new RegExp(pattern.source, 'g'))];
  if (found.length !== 1) {
    console.error(`thin-entry: found ${found.length} matches for ${what} in ${path}, expected 1; `
      + 'worker-build\'s generated entry has changed: update scripts/thin-entry.mjs');
    process.exit(1);
  }
  return found[0];
}

const id = String.raw`[\w$]+`;
// `Entrypoint.prototype.fetch = function fetch(arg) { return exports.fetch.call(this, arg, this.env, this.ctx) }`
const handler = one(new RegExp(String.raw`(${id})\.prototype\.fetch=function(?: ${id})? ?\((${id})\)\{return (${id})\.call\(this,\2,this\.env,this\.ctx\)\}`), 'the fetch handler');
const [, entrypoint, , wasmFetch] = handler;
// Any other handler (queue, scheduled, email) would be lost by the rewrite: refuse instead.
const others = source.match(new RegExp(String.raw`${entrypoint.replace(/\$/g, '\\$')}\.prototype\.(?!fetch\b)(${id})=`));
if (others) {
  console.error(`thin-entry: the Worker exports a \`${others[1]}\` handler too; scripts/thin-entry.mjs handles fetch only: extend it`);
  process.exit(1);
}
const [, checkReinitialize] = one(new RegExp(String.raw`function (${id})\(\)\{${id}\.criticalError&&\(console\.log\("Reinitializing Wasm application"\)`), 'checkReinitialize');
const [, handleMaybeCritical] = one(new RegExp(String.raw`function (${id})\((${id})\)\{\2 instanceof WebAssembly\.RuntimeError&&`), 'handleMaybeCritical');
const [, proxied] = one(new RegExp(String.raw`(${id})=new Proxy\(${entrypoint.replace(/\$/g, '\\$')},${id}\)`), 'the proxied entrypoint');
const exported = one(new RegExp(String.raw`(?<=[{,])${proxied.replace(/\$/g, '\\$')} as default(?=[,}])`), 'the default export');

const thin = `${MARK}var __tollgateEntry={fetch(request,env,ctx){${checkReinitialize}();`
  + `const fail=(e)=>{throw ${handleMaybeCritical}(e),e};`
  + `try{return ${wasmFetch}(request,env,ctx).catch(fail)}catch(e){fail(e)}}};\n`;
const at = exported.index;
const exportStart = source.lastIndexOf('export{', at);
if (exportStart < 0) {
  console.error(`thin-entry: no export list around the default export in ${path}`);
  process.exit(1);
}
const next = source.slice(0, exportStart) + thin
  + source.slice(exportStart, at) + '__tollgateEntry as default' + source.slice(at + exported[0].length);
writeFileSync(path, next);
