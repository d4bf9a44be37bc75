// The published shape of @tollgate/client: `npm pack` of npm/ (built by `make client`)
// installs offline into a scratch project, works from Node (ESM) and type-checks; its browser
// bundles are client-bundles.test.mjs. Run by `make test-ts`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ROOT } from '../harness/worker.mjs';
import { packAndInstall } from './pack.mjs';

const ts = createRequire(import.meta.url)(join(ROOT, 'node_modules/typescript'));

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const TOKEN = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64({ sub: 'user-1', role: 'admin', exp: 2000000000, name: 'Zoë' })}.c2ln`;

let packed;
let scratch;
let tarball;

before(() => {
  packed = packAndInstall(['npm']);
  scratch = packed.scratch;
  tarball = packed.tarballs.npm;
});

after(() => packed?.cleanup());

test('the tarball holds the built ESM, its types and the embedded wasm, and nothing else', () => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
  for (const f of ['package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts',
    'package/dist/wasm/tollgate_client_bytes.js', 'package/dist/wasm/tollgate_client.js']) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
  }
  // No .wasm file: the bytes are in tollgate_client_bytes.js, and nothing may fetch a file.
  assert.deepEqual(files.filter((f) => !/^package\/(package\.json|dist\/.*\.(js|d\.ts))$/.test(f) && f !== 'package/README.md'), []);
  const pkg = JSON.parse(readFileSync(join(scratch, 'app/node_modules/@tollgate/client/package.json'), 'utf8'));
  assert.equal(pkg.dependencies, undefined, 'the package must have no runtime dependencies');
  assert.equal(pkg.exports['.'].types, './dist/index.d.ts');
});

test('Node imports it as ESM: decodeClaims works and errors carry the server code', () => {
  const script = `
    import { decodeClaims, AuthError, createAuthClient } from '@tollgate/client';
    const claims = decodeClaims(${JSON.stringify(TOKEN)});
    let code;
    try { decodeClaims('not.a.token!'); } catch (e) { code = e instanceof AuthError && e.code; }
    createAuthClient({ baseUrl: 'https://auth.example.com' }).close();
    console.log(JSON.stringify({ claims, code }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(scratch, 'app'), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), { claims: { sub: 'user-1', role: 'admin', exp: 2000000000, name: 'Zoë' }, code: 'invalid_token' });
});

// The wasm is the Rust core's client half only: its exports are the boundary lib.rs documents
// (numbers in, numbers out), it imports nothing but wasm-bindgen's own start-up, and with its
// glue it stays under the 8 KB gzipped. Server code (argon2, signing) pulled in through
// the core's `server` feature would break all three; crates/client/tests/no_server_code.rs
// checks the dependency graph itself.
const WASM_EXPORTS = ['decodePayload', 'isExpired', 'memory', 'refreshDelayMs', 'scratch', 'scratchCapacity',
  'secondsLeft', 'skewHighAfter', 'skewLowAfter', 'skewOffsetMs'];
const WASM_AND_GLUE_GZIP_BUDGET = 8_000;

test('the shipped wasm exports the documented boundary only, imports nothing of its own, and fits 8 KB gzipped', async () => {
  const dist = join(scratch, 'app/node_modules/@tollgate/client/dist/wasm');
  const { default: hex } = await import(join(dist, 'tollgate_client_bytes.js'));
  const wasm = Buffer.from(hex, 'hex');
  assert.equal(wasm.toString('hex'), hex, 'the embedded module is plain hex');
  const module = new WebAssembly.Module(wasm);
  // wasm-bindgen's own `__` exports (start-up, externref table) vary with its version.
  const exported = WebAssembly.Module.exports(module).map((e) => e.name).filter((n) => !n.startsWith('__')).sort();
  assert.deepEqual(exported, WASM_EXPORTS);
  const imported = WebAssembly.Module.imports(module).map((i) => i.name);
  assert.deepEqual(imported.filter((n) => !n.startsWith('__wbindgen_')), [], 'only wasm-bindgen glue is imported');
  // As shipped: the hex text and the glue.
  const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  const gzip = gz('tollgate_client_bytes.js') + gz('tollgate_client.js');
  assert.ok(gzip <= WASM_AND_GLUE_GZIP_BUDGET, `wasm + glue are ${gzip} bytes gzipped, over ${WASM_AND_GLUE_GZIP_BUDGET}`);
});

/**
 * The public API as `npm/src/api.ts` declares it (the one file the entry points re-export):
 * `{ values, types }`, each a sorted list of names.
 */
function declaredApi() {
  const file = join(ROOT, 'npm/src/api.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const api = { values: [], types: [] };
  for (const statement of source.statements) {
    assert.ok(ts.isExportDeclaration(statement), `api.ts only re-exports; found: ${statement.getText()}`);
    for (const element of statement.exportClause.elements) {
      (statement.isTypeOnly || element.isTypeOnly ? api.types : api.values).push(element.name.text);
    }
  }
  api.values.sort();
  api.types.sort();
  return api;
}

/** A TypeScript app using every public export of the installed package, by name. */
function writeTypeScriptApp(app, { values, types }) {
  writeFileSync(join(app, 'main.ts'), `// Generated by tests/packaging/client-package.test.mjs.
import { ${values.join(', ')} } from '@tollgate/client';
import type { ${types.join(', ')} } from '@tollgate/client';

// Every export, so that a missing one fails to resolve.
export const values = { ${values.join(', ')} };
export type Types = [${types.join(', ')}];

// And the types used the way an app uses them.
const options: AuthClientOptions = { baseUrl: 'https://auth.example.com', clock: systemClock, storage: null };
const auth: AuthClient = createAuthClient(options);
const listener: AuthListener = (event: AuthEvent) => {
  if (event.type === 'signed_out') {
    const reason: SignOutReason = event.reason;
    console.log(reason, event.error?.code);
  }
};
const unsubscribe: () => void = auth.onChange(listener);
const claims: AccessClaims = decodeClaims(${JSON.stringify(TOKEN)});
const custom: { sub: string } = decodeClaims<{ sub: string }>(${JSON.stringify(TOKEN)});
const skew = new ClockSkew();
const range: SkewRange | undefined = skew.range;
const left: number = secondsLeft(claims.exp, Date.now(), skew.offsetMs);
const expired: boolean = isExpired(claims.exp, Date.now(), skew.offsetMs, -1000);
const delay: number = refreshDelayMs(claims.iat, claims.exp, Date.now(), skew.offsetMs, 7);
const clock: Clock = systemClock;
const hints: HintStorage | null = null;
async function use(): Promise<void> {
  try {
    const user: User = await auth.register('sam@example.com', 'correct horse battery staple');
    const sessions: Session[] = await auth.sessions();
    console.log(user.role, sessions.map((s) => s.current));
  } catch (e) {
    if (e instanceof AuthError) {
      const code: AuthErrorCode = e.code;
      const fields: FieldError[] | undefined = e.errors;
      console.log(code, e.status, e.retryAfter, fields);
    }
  }
}
// @ts-expect-error: the codes are a closed union.
const wrong: AuthErrorCode = 'no_such_code';
console.log(unsubscribe, custom, range, left, expired, delay, clock, hints, use, wrong);
`);
}

const tsc = (app, args) => execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), ...args], { cwd: app, encoding: 'utf8', stdio: 'pipe' });

test('the packed package exports at run time exactly the values api.ts declares', () => {
  const { values } = declaredApi();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e',
    "console.log(JSON.stringify(Object.keys(await import('@tollgate/client')).sort()))"], { cwd: join(scratch, 'app'), encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), values);
});

// `stripInternal` drops any declaration whose comment says @internal: once it silently dropped
// decodeClaims from the published types, which the JavaScript tests above cannot notice.
for (const [resolution, module] of [['bundler', 'esnext'], ['node16', 'node16']]) {
  test(`a TypeScript app importing every public export type-checks (tsc --noEmit, moduleResolution ${resolution})`, () => {
    const app = join(scratch, 'app');
    writeTypeScriptApp(app, declaredApi());
    const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2022', '--lib', 'es2022,dom',
      '--module', module, '--moduleResolution', resolution, 'main.ts'];
    try {
      tsc(app, args);
    } catch (e) {
      assert.fail(`tsc ${args.join(' ')} failed:\n${e.stdout}${e.stderr}`);
    }
  });
}

test('every export of the published types has TSDoc with a summary and an @example', () => {
  const app = join(scratch, 'app');
  const api = declaredApi();
  writeTypeScriptApp(app, api);
  const program = ts.createProgram([join(app, 'main.ts')], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, types: [],
  });
  const checker = program.getTypeChecker();
  const main = program.getSourceFile(join(app, 'main.ts'));
  const specifier = main.statements.find(ts.isImportDeclaration).moduleSpecifier;
  const moduleSymbol = checker.getSymbolAtLocation(specifier);
  assert.ok(moduleSymbol, '@tollgate/client has no types');
  const exports = checker.getExportsOfModule(moduleSymbol);
  assert.deepEqual(exports.map((s) => s.name).sort(), [...api.values, ...api.types].sort(),
    'the published types export exactly what api.ts declares');
  const undocumented = [];
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const summary = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
    const examples = symbol.getJsDocTags(checker).filter((t) => t.name === 'example');
    const file = symbol.declarations?.[0]?.getSourceFile().fileName ?? '?';
    if (!summary) undocumented.push(`${exported.name} (${file}): no summary`);
    if (examples.length === 0) undocumented.push(`${exported.name} (${file}): no @example`);
  }
  assert.deepEqual(undocumented, []);
});
