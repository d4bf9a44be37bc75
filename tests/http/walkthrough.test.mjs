// The classic tutorial walk-through, with plain curl, as a FastAPI user tries it first
// (README, "Try it with curl").
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { email } from '../harness/api.mjs';
import { BASE } from '../harness/server-url.mjs';

function curl(...args) {
  const out = execFileSync('curl', ['-s', '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const lines = out.trimEnd().split('\n');
  const status = Number(lines.pop());
  const body = lines.join('\n');
  return { status, body, json: body ? JSON.parse(body) : undefined };
}

test('register, log in, read /me, and a tampered or garbage token gets 401 — with curl', () => {
  const sam = email('sam');
  const password = 'a long passphrase nobody guesses';
  const reg = curl('-X', 'POST', `${BASE}/auth/register`, '-H', 'Content-Type: application/json',
    '-d', JSON.stringify({ email: sam, password }));
  assert.equal(reg.status, 201, reg.body);
  assert.equal(reg.json.email, sam);
  assert.equal(reg.json.role, 'user');

  // curl's -d sends application/x-www-form-urlencoded, exactly like the tutorial's form.
  const login = curl('-X', 'POST', `${BASE}/auth/login`, '-d', `username=${sam}&password=${password}`);
  assert.equal(login.status, 200, login.body);
  assert.equal(login.json.token_type, 'bearer');
  assert.equal(login.json.expires_in, 900);
  const token = login.json.access_token;

  const me = curl(`${BASE}/me`, '-H', `Authorization: Bearer ${token}`);
  assert.equal(me.status, 200, me.body);
  assert.equal(me.json.email, sam);

  // The README's one-liner that sets TOKEN, as written there (only the address differs).
  const script = `TOKEN=$(curl -s -X POST ${BASE}/auth/login \\
  -d 'username=${sam}&password=${password}' \\
  | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')
curl -s ${BASE}/me -H "Authorization: Bearer $TOKEN"`;
  const viaOneLiner = JSON.parse(execFileSync('bash', ['-c', script], { encoding: 'utf8' }));
  assert.equal(viaOneLiner.email, sam);

  const [h, p, s] = token.split('.');
  const flipped = s[0] === 'A' ? `B${s.slice(1)}` : `A${s.slice(1)}`;
  for (const bad of [`${h}.${p}.${flipped}`, 'garbage']) {
    const res = curl(`${BASE}/me`, '-H', `Authorization: Bearer ${bad}`);
    assert.equal(res.status, 401, res.body);
    assert.equal(res.json.code, 'invalid_token');
  }
});
