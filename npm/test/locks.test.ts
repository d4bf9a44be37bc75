// One refresh across tabs: the Web Locks path of the client (Node has no `navigator.locks`,
// so these tests install a spec-shaped fake, shared by the clients like one browser's locks),
// the bounded wait with lock stealing, and the re-check a tab makes once it holds the lock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AuthClient, createAuthClient } from '../src/client.js';
import { LOCK_ACQUIRE_TIMEOUT_MS } from '../src/locks.js';
import { FakeBroadcastChannel, FakeClock, FakeLocks, FakeServer, settle } from './fakes.js';

const BASE = 'https://auth.test';
/** The lock the client takes around a refresh (its base URL, normalised by `new URL`). */
const REFRESH_LOCK = 'tollgate:refresh:https://auth.test/';

let locks: FakeLocks;
const clients: AuthClient[] = [];

beforeEach(() => {
  locks = new FakeLocks();
  vi.stubGlobal('navigator', { locks });
  vi.stubGlobal('BroadcastChannel', FakeBroadcastChannel);
});

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  vi.unstubAllGlobals();
});

function tab(clock: FakeClock, server: FakeServer): AuthClient {
  const auth = createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null });
  clients.push(auth);
  return auth;
}

describe('an abandoned lock', () => {
  it('is stolen after the bounded wait, and exactly one refresh follows', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock, ttl: 900 });
    const auth = tab(clock, server);
    await auth.login('sam@example.com', 'right password');
    // A frozen tab took the refresh lock and will never let go of it.
    const frozen = locks.request(REFRESH_LOCK, () => new Promise<never>(() => {}));
    frozen.catch(() => undefined); // rejected with AbortError when stolen
    await settle();
    expect(locks.isHeld(REFRESH_LOCK)).toBe(true);

    clock.sleep(800_000); // the token is due (its refresh moment is 720 s)
    let token: string | null | undefined;
    void auth.getAccessToken().then((t) => (token = t));
    await clock.advance(LOCK_ACQUIRE_TIMEOUT_MS - 1);
    expect(locks.steals).toBe(0);
    expect(server.count('/auth/refresh')).toBe(0);
    expect(token).toBeUndefined(); // still waiting for the lock

    await clock.advance(1);
    expect(locks.steals).toBe(1);
    expect(server.count('/auth/refresh')).toBe(1);
    expect(token).toBe(server.issued[1]);
    await expect(frozen).rejects.toMatchObject({ name: 'AbortError' });

    // Nothing more until the new token's own refresh moment.
    await clock.advance(600_000);
    expect(server.count('/auth/refresh')).toBe(1);
    expect(server.accepts((await auth.getAccessToken())!)).toBe(true);
  });

  it('a lock released within the wait is taken normally, without stealing', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock, ttl: 900 });
    const auth = tab(clock, server);
    await auth.login('sam@example.com', 'right password');
    let release!: () => void;
    void locks.request(REFRESH_LOCK, () => new Promise<void>((r) => (release = r)));
    await settle();
    clock.sleep(800_000);
    const token = auth.getAccessToken();
    await clock.advance(LOCK_ACQUIRE_TIMEOUT_MS / 2);
    release();
    expect(await token).toBe(server.issued[1]);
    expect(locks.steals).toBe(0);
    expect(server.count('/auth/refresh')).toBe(1);
  });
});

describe('the re-check once the lock is held', () => {
  it('two due tabs: the second finds the first one\'s token and does not refresh', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock, ttl: 900 });
    const [a, b] = [tab(clock, server), tab(clock, server)];
    await a!.login('sam@example.com', 'right password');
    await settle();
    expect(b!.claims?.jti).toBe('jti-1'); // b has the session through the channel

    clock.sleep(800_000); // both tabs' tokens are due
    let release!: () => void;
    server.hold = new Promise((r) => (release = r));
    // a asks first and takes the lock; b queues behind it, having seen the same old token.
    const tokens = Promise.all([a!.getAccessToken(), b!.getAccessToken()]);
    await settle();
    expect(server.count('/auth/refresh')).toBe(1);
    release();
    const [ta, tb] = await tokens;

    expect(server.count('/auth/refresh')).toBe(1);
    expect(ta).toBe(server.issued[1]);
    expect(tb).toBe(ta);
    expect(a!.claims?.jti).toBe('jti-2');
    expect(b!.claims?.jti).toBe('jti-2');
    expect(locks.grants).toBe(2); // b did take the lock; it just had nothing left to do
    expect(locks.steals).toBe(0);
  });

  it('a tab that waited for the lock still refreshes when nobody else did', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock, ttl: 900 });
    const auth = tab(clock, server);
    await auth.login('sam@example.com', 'right password');
    // Another tab held the lock for something that produced no new token (its refresh failed).
    let release!: () => void;
    void locks.request(REFRESH_LOCK, () => new Promise<void>((r) => (release = r)));
    await settle();
    clock.sleep(800_000);
    const token = auth.getAccessToken();
    await settle();
    release();
    expect(await token).toBe(server.issued[1]);
    expect(server.count('/auth/refresh')).toBe(1);
  });
});

describe('without Web Locks', () => {
  // happy-dom (and so React apps' unit tests) has `navigator.locks === null`; Node has no
  // navigator at all. Both fall back to the one-tab lock.
  for (const [name, navigator] of [['navigator.locks is null', { locks: null }], ['no navigator', undefined]] as const) {
    it(`${name}: a refresh still happens, once`, async () => {
      vi.stubGlobal('navigator', navigator);
      const clock = new FakeClock();
      const server = new FakeServer({ clock, ttl: 900 });
      const auth = tab(clock, server);
      await auth.login('sam@example.com', 'right password');
      await clock.advance(720_001);
      expect(server.count('/auth/refresh')).toBe(1);
      expect(auth.getSnapshot().accessToken).toBe(server.issued[1]);
    });
  }
});
