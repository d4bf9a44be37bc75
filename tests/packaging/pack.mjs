// Shared steps of the packaging tests: `npm pack` of workspace packages, installed offline
// into a scratch project exactly as an app would install them from the registry.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../harness/worker.mjs';

export const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The README's Content-Security-Policy (the demo page's own, worker/public/_headers), which the built apps are served under. */
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Packs each workspace directory of `packages` (relative to the repository, e.g. `npm`), and
 * each of `peers` from the repository's node_modules (e.g. `react`: the pinned copy, packed
 * again, so nothing comes from the registry), and installs all the tarballs into
 * `<scratch>/app`.
 * @returns {{scratch: string, app: string, tarballs: Record<string,string>, cleanup(): void}}
 */
export function packAndInstall(packages, { peers = [] } = {}) {
  const scratch = mkdtempSync(join(tmpdir(), 'tollgate-pack-'));
  const tarballs = {};
  for (const dir of [...packages, ...peers.map((name) => join('node_modules', name))]) {
    const out = execFileSync(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], { cwd: join(ROOT, dir), encoding: 'utf8' });
    tarballs[dir] = join(scratch, JSON.parse(out)[0].filename);
  }
  const app = join(scratch, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  // --offline: the packages must need nothing from the registry.
  execFileSync(NPM, ['install', ...Object.values(tarballs), '--offline', '--no-audit', '--no-fund', '--ignore-scripts'],
    { cwd: app, stdio: 'pipe' });
  return { scratch, app, tarballs, cleanup: () => rmSync(scratch, { recursive: true, force: true }) };
}
