// The built package (dist/, made by `make client`) in a real Node process: its timers and
// tab channel must not keep the process alive once the script is done.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

it('a signed-in client with a refresh planned lets Node exit', () => {
  const script = `
    import { createAuthClient } from ${JSON.stringify(entry)};
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const token = b64({ alg: 'HS256' }) + '.' + b64({ sub: 'u', sid: 's', iat: now, exp: now + 900 }) + '.c2ln';
    const fetch = async () => new Response(JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: 900 }),
      { headers: { 'Content-Type': 'application/json', Date: new Date().toUTCString() } });
    const auth = createAuthClient({ baseUrl: 'https://auth.test', fetch });
    await auth.login('sam@example.com', 'pw');
    if (!(auth.nextRefreshAt > Date.now() + 600000)) throw new Error('no refresh planned');
    console.log('signed in as', auth.claims.sub);
  `;
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
  expect(run.stderr).toBe('');
  expect(run.stdout).toContain('signed in as u');
  expect(run.signal).toBeNull(); // not killed by the timeout
  expect(run.status).toBe(0);
  expect(Date.now() - started).toBeLessThan(10_000);
});
