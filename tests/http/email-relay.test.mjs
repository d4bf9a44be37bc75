// examples/email-relay under `wrangler dev`: a message signed by Tollgate (and, for the edge
// cases, by the Standard Webhooks library) is verified and forwarded to the email API, here a
// local capture server standing in for the provider; anything unsigned, altered or stale is
// refused and nothing is sent.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { client, signUp } from '../harness/api.mjs';
import { ROOT, startWorker } from '../harness/worker.mjs';

const EXAMPLE = join(ROOT, 'examples/email-relay');
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const API_KEY = randomBytes(16).toString('hex');
let dir;
let provider;
let relay;
let tollgate;
const sent = [];
let providerFails = 0;

before(async () => {
  provider = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (providerFails > 0) { providerFails -= 1; res.writeHead(500).end(); return; }
      sent.push({ authorization: req.headers.authorization, ...JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"id":"1"}');
    });
  });
  await new Promise((ok) => provider.listen(0, '127.0.0.1', ok));
  dir = mkdtempSync(join(tmpdir(), 'tollgate-email-relay-'));
  const toml = readFileSync(join(EXAMPLE, 'wrangler.toml'), 'utf8')
    .replace(/^main = "src\/index.js"$/m, `main = ${JSON.stringify(join(EXAMPLE, 'src/index.js'))}`);
  writeFileSync(join(dir, 'wrangler.toml'), toml);
  relay = await startWorker({
    configPath: join(dir, 'wrangler.toml'),
    readyPath: '/',
    vars: { PROVIDER_URL: `http://127.0.0.1:${provider.address().port}/emails` },
    secrets: { EMAIL_WEBHOOK_SECRET: SECRET, PROVIDER_API_KEY: API_KEY },
  });
  tollgate = await startWorker({
    vars: { EMAIL_WEBHOOK_URL: `${relay.url}/`, APP_URL: 'https://app.example/complete' },
    secrets: { EMAIL_WEBHOOK_SECRET: SECRET },
  });
});
after(async () => {
  await tollgate?.dispose();
  await relay?.dispose();
  await new Promise((ok) => (provider ? provider.close(() => ok()) : ok()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const waitForMail = async (pred, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = sent.find(pred);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no matching mail; sent: ${JSON.stringify(sent.map((m) => [m.to, m.subject]))}`);
};

const post = (body, headers) => fetch(`${relay.url}/`, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
const signed = (body, { secret = SECRET, id = `msg_${randomBytes(8).toString('hex')}`, at = new Date() } = {}) => ({
  'webhook-id': id,
  'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  'webhook-signature': new Webhook(secret).sign(id, at, body),
});

test('Tollgate → relay → email API: a password reset arrives as a mail with the link, keyed by webhook-id', async () => {
  const api = client(tollgate.url);
  const user = await signUp(api);
  assert.equal((await api.post('/auth/password-reset', { json: { email: user.email } })).status, 202);
  const mail = await waitForMail((m) => m.to === user.email && m.subject === 'Reset your password');
  assert.equal(mail.authorization, `Bearer ${API_KEY}`);
  assert.match(mail.text, /https:\/\/app\.example\/complete#token=[A-Za-z0-9_-]+&type=password_reset/);
  assert.match(mail.idempotency_key, /^msg_/);
  // Registration's verification went the same way.
  await waitForMail((m) => m.to === user.email && m.subject === 'Verify your email address');
});

test('unsigned, altered, foreign-keyed and stale messages are refused with 401 and nothing is sent', async () => {
  const body = JSON.stringify({ type: 'password_reset', to: 'victim@example.com', token: 't', link: 'https://evil.example/', expires_at: null, user_id: 'x' });
  const before = sent.length;
  const good = signed(body);
  const cases = [
    {},
    { ...good, 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') },
    signed(body, { secret: `whsec_${randomBytes(32).toString('base64')}` }),
    signed(body, { at: new Date(Date.now() - 10 * 60_000) }),
  ];
  for (const headers of cases) assert.equal((await post(body, headers)).status, 401);
  assert.equal((await post(body.replace('victim', 'other'), good)).status, 401, 'altered body');
  assert.equal(sent.length, before);
});

test('a signed message of an unknown type is 400; a failing email API is 502 (so Tollgate retries)', async () => {
  const odd = JSON.stringify({ type: 'something_else', to: 'a@example.com' });
  assert.equal((await post(odd, signed(odd))).status, 400);
  const body = JSON.stringify({ type: 'email_changed_notice', to: 'old@example.com', token: null, link: null, expires_at: null, user_id: 'x' });
  providerFails = 1;
  assert.equal((await post(body, signed(body))).status, 502);
  assert.equal((await post(body, signed(body))).status, 204);
  const mail = await waitForMail((m) => m.to === 'old@example.com');
  assert.equal(mail.subject, 'Your email address is being changed');
});
