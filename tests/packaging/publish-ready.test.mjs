// Ready to publish: each package the project ships passes its registry's own dry run, so a
// release is `npm publish` and `cargo publish` and nothing more. Until then README.md says how
// to install from a checkout (`npm pack`, `cargo install --path`).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../harness/worker.mjs';
import { NPM } from './pack.mjs';

/** The npm workspaces that are published, by directory. */
const NPM_PACKAGES = ['npm', 'npm-react'];
/** The crates that are published; tollgate-client ships inside @tollgate/client instead. */
const CRATES = ['tollgate-core', 'tollgate-cli', 'tollgate-worker'];

/** Every file a package.json's `exports`, `types` and `main` point at, without `./`. */
function entryFiles(manifest) {
  const found = new Set();
  const walk = (v) => {
    if (typeof v === 'string') found.add(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(manifest.exports);
  walk(manifest.types);
  walk(manifest.main);
  return [...found];
}

for (const dir of NPM_PACKAGES) {
  const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));

  test(`npm publish --dry-run accepts ${manifest.name}, with every entry point and nothing but dist/`, () => {
    // --ignore-scripts: the packages are built by `make client react` before this layer runs.
    const run = spawnSync(NPM, ['publish', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(ROOT, dir), encoding: 'utf8' });
    assert.equal(run.status, 0, `npm publish --dry-run failed:\n${run.stderr}`);
    const report = JSON.parse(run.stdout);
    const files = (report[manifest.name] ?? report).files.map((f) => f.path);
    for (const want of ['package.json', 'README.md', ...entryFiles(manifest)]) {
      assert.ok(files.includes(want), `${manifest.name}'s tarball lacks ${want}: ${files.join(', ')}`);
    }
    const stray = files.filter((f) => !['package.json', 'README.md'].includes(f) && !f.startsWith('dist/'));
    assert.deepEqual(stray, [], `${manifest.name}'s tarball carries files outside dist/`);
    assert.ok(!files.some((f) => f.endsWith('.map')), 'source maps would point at sources the tarball lacks');
    // A scoped package is private on npm unless it says otherwise.
    assert.equal(manifest.publishConfig?.access, 'public');
    assert.equal(manifest.license, 'MIT OR Apache-2.0');
    assert.match(manifest.repository?.url ?? '', /^git\+https:\/\//);
  });
}

/**
 * Forgets what cargo kept from verifying our own crates last time. Verifying tollgate-cli and
 * tollgate-worker builds them against the tollgate-core just packaged, as a registry crate:
 * cargo unpacks it under `$CARGO_HOME/registry/src/` and never again for a version it has
 * there, and it takes a registry crate's build as good for as long as its version stands.
 * Without this, a run after a change to the core (still version 0.1.0) would verify the
 * dependents against the first run's core.
 */
function forgetVerifiedCrates(version) {
  const src = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'registry', 'src');
  if (existsSync(src)) {
    for (const registry of readdirSync(src)) {
      for (const crate of CRATES) rmSync(join(src, registry, `${crate}-${version}`), { recursive: true, force: true });
    }
  }
  // The dev-profile builds of our crates only (the workspace's own are rebuilt in seconds).
  const clean = spawnSync('cargo', ['clean', '--quiet', '--profile', 'dev', ...CRATES.flatMap((c) => ['-p', c])], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(clean.status, 0, clean.stderr);
}

test(`cargo package builds ${CRATES.join(', ')} from their packaged sources`, () => {
  // Verification compiles each crate from its .crate file alone, with the workspace's target
  // directory, so a file outside the crate or a dependency without a version fails here.
  const version = /^version = "([^"]+)"/m.exec(readFileSync(join(ROOT, 'Cargo.toml'), 'utf8'))[1];
  forgetVerifiedCrates(version);
  const args = ['package', '--locked', '--allow-dirty', ...CRATES.flatMap((c) => ['-p', c])];
  const run = spawnSync('cargo', args, { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, `cargo ${args.join(' ')} failed:\n${run.stderr.slice(-4000)}`);
  for (const crate of CRATES) assert.match(run.stderr, new RegExp(`Verifying ${crate} v`), `${crate} was not verified`);
  const unpublished = execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1'], { cwd: ROOT, encoding: 'utf8' });
  const names = JSON.parse(unpublished).packages.filter((p) => p.publish === null).map((p) => p.name).sort();
  assert.deepEqual(names, [...CRATES].sort(), 'every crate without `publish = false` must be packaged here');
});
