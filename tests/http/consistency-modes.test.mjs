// CONSISTENCY (issue 13 §3): strict mode's own guarantees, and switching a live deployment
// between the modes on one persisted state without losing a user or answering a 5xx.
// (`make test-http-strict` runs the whole HTTP suite in strict mode besides.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, client, email, fromAnywhere, logIn, signUp } from '../harness/api.mjs';
import { startWorker } from '../harness/worker.mjs';

describe('strict mode', () => {
  let server;
  let api;
  before(async () => {
    // No grace window, so that presenting a rotated token again is reuse at once.
    server = await startWorker({ vars: { CONSISTENCY: 'strict', REFRESH_REUSE_GRACE_SECONDS: '0' } });
    api = client(server.url);
  });
  after(() => server?.dispose());

  test('100 concurrent registrations of one email give exactly one 201; the others get 409 email_taken', async () => {
    const address = email('hundred');
    const answers = await Promise.all(Array.from({ length: 100 }, () =>
      api.post('/auth/register', { json: { email: address, password: PASSWORD }, headers: fromAnywhere() })));
    const statuses = answers.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 201).length, 1, JSON.stringify(statuses));
    for (const a of answers.filter((x) => x.status !== 201)) {
      assert.equal(a.status, 409, a.text);
      assert.equal(a.json.code, 'email_taken');
    }
    const winner = answers.find((a) => a.status === 201).json;
    const session = await logIn(api, address, PASSWORD, fromAnywhere());
    const me = await api.get('/me', { token: session.token });
    assert.equal(me.json.id, winner.id, 'the address reaches the one account');
  });

  test('a family revoked for reuse is refused on the very next request', async () => {
    const user = await signUp(api);
    const first = await api.post('/auth/refresh', { cookie: user.cookie });
    assert.equal(first.status, 200, first.text);
    // Past the grace window of no seconds: the next second (times are whole seconds).
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 50));
    const replay = await api.post('/auth/refresh', { cookie: user.cookie });
    assert.equal(replay.status, 401, replay.text);
    assert.equal(replay.json.code, 'refresh_token_reused');
    const next = await api.post('/auth/refresh', { cookie: first.cookie.pair });
    assert.equal(next.status, 401, 'the newest token of the family is refused too');
  });

  test('two concurrent refreshes of one token get the same successor, serialised at the object', async () => {
    const session = await signUp(api);
    const [a, b] = await Promise.all([
      api.post('/auth/refresh', { cookie: session.cookie }),
      api.post('/auth/refresh', { cookie: session.cookie }),
    ]);
    assert.deepEqual([a.status, b.status], [200, 200], `${a.text} ${b.text}`);
    assert.equal(a.cookie.value, b.cookie.value, 'one successor for one generation');
  });
});

describe('switching modes on a live deployment', () => {
  let server;
  let api;
  before(async () => {
    server = await startWorker({ vars: { CONSISTENCY: 'eventual' } });
    api = client(server.url);
  });
  after(() => server?.dispose());

  async function switchTo(mode) {
    server.vars.CONSISTENCY = mode;
    await server.restart();
    api = client(server.url);
  }

  /** Refreshes `session` in place; returns the status. */
  async function refresh(session) {
    const res = await api.post('/auth/refresh', { cookie: session.cookie });
    assert.ok(res.status < 500, `refresh answered ${res.status}: ${res.text}`);
    if (res.status === 200) {
      session.cookie = res.cookie.pair;
      session.token = res.json.access_token;
    }
    return res.status;
  }

  test('eventual → strict → eventual: sessions carry over, endings stay ended, no user is lost', async () => {
    // Eventual: two users; one session goes on, one is logged out.
    const alice = await signUp(api, { tag: 'switch-alice' });
    const ended = await logIn(api, alice.email, PASSWORD, fromAnywhere());
    assert.equal(await refresh(alice), 200);
    assert.equal((await api.post('/auth/logout', { cookie: ended.cookie })).status, 204);

    await switchTo('strict');
    assert.equal(await refresh(alice), 200, 'a session of the eventual mode carries over');
    assert.equal(await refresh(ended), 401, 'a session ended before the switch stays ended');
    const bob = await signUp(api, { tag: 'switch-bob' });
    const bobEnded = await logIn(api, bob.email, PASSWORD, fromAnywhere());
    assert.equal(await refresh(bob), 200);
    assert.equal((await api.post('/auth/logout', { cookie: bobEnded.cookie })).status, 204);
    const carol = await signUp(api, { tag: 'switch-carol' });
    assert.equal((await api.post('/auth/password', {
      token: carol.token, json: { current_password: PASSWORD, new_password: 'a strict new passphrase' },
    })).status, 204);

    await switchTo('eventual');
    assert.equal(await refresh(alice), 200, 'carried over twice');
    assert.equal(await refresh(bob), 200, 'a session of the strict mode carries over');
    assert.equal(await refresh(bobEnded), 401, 'a session ended in strict mode stays ended');
    assert.equal(await refresh(ended), 401);
    for (const [who, password] of [[alice, PASSWORD], [bob, PASSWORD], [carol, 'a strict new passphrase']]) {
      const again = await logIn(api, who.email, password, fromAnywhere());
      const me = await api.get('/me', { token: again.token });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.json.email, who.email, 'no user lost');
    }
    const old = await api.post('/auth/login', { form: { username: carol.email, password: PASSWORD }, headers: fromAnywhere() });
    assert.equal(old.status, 401, 'the password changed in strict mode holds after the switch back');

    await switchTo('strict');
    assert.equal(await refresh(alice), 200, 'and once more');
    assert.equal(await refresh(bobEnded), 401);
  });
});

test('CONSISTENCY other than eventual or strict is a 503 misconfigured that names it', async () => {
  const server = await startWorker({ vars: { CONSISTENCY: 'linearizable' } });
  try {
    const res = await client(server.url).get('/me', { token: 'x' });
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.code, 'misconfigured');
    await server.waitForLog(/"detail":"misconfigured: CONSISTENCY must be eventual or strict/);
  } finally {
    await server.dispose();
  }
});
