// `subscribe` / `getSnapshot`: the pair React's useSyncExternalStore (and Svelte stores, Vue
// refs) read the client through. The snapshot is one immutable object that changes identity
// exactly when the session changes, and `status` is `loading` until a `resume()` settles.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuthClient, createAuthClient } from '../src/client.js';
import { FakeClock, FakeServer } from './fakes.js';

const BASE = 'https://auth.test';
const clients: AuthClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function setup(options: { ttl?: number } = {}) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock, ...options });
  const auth = createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null });
  clients.push(auth);
  let notified = 0;
  // Unbound on purpose: React calls them as plain functions.
  const { subscribe, getSnapshot } = auth;
  const unsubscribe = subscribe(() => notified++);
  return { clock, server, auth, getSnapshot, unsubscribe, notified: () => notified };
}

const statusAndClaims = (auth: AuthClient) => {
  const s = auth.getSnapshot();
  return { status: s.status, sid: s.claims?.sid ?? null, token: s.accessToken };
};

describe('the snapshot', () => {
  it('is loading at first, and the same object until something changes', () => {
    const { getSnapshot, notified } = setup();
    const first = getSnapshot();
    expect(first).toEqual({ status: 'loading', claims: null, accessToken: null });
    expect(getSnapshot()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(notified()).toBe(0);
  });

  it('settles to signed_out when resume finds no session', async () => {
    const { auth, server, notified } = setup();
    server.refreshPlan.push({ status: 401, body: { detail: 'no', code: 'invalid_refresh_token' } });
    expect(await auth.resume()).toBeNull();
    expect(statusAndClaims(auth)).toEqual({ status: 'signed_out', sid: null, token: null });
    expect(notified()).toBe(1);
  });

  it('settles to signed_out when resume cannot reach the server (and resume still rejects)', async () => {
    const { auth, server } = setup();
    server.refreshPlan.push('network');
    await expect(auth.resume()).rejects.toMatchObject({ code: 'network_error' });
    expect(auth.getSnapshot().status).toBe('signed_out');
  });

  it('settles to signed_in with the claims and token when resume finds a session', async () => {
    const { auth, server, notified } = setup();
    await auth.resume();
    expect(statusAndClaims(auth)).toEqual({ status: 'signed_in', sid: 'session-1', token: server.issued[0] });
    expect(auth.getSnapshot().claims).toEqual(auth.claims);
    expect(notified()).toBe(1);
  });

  it('follows login, each silent refresh, and logout, notifying once per change', async () => {
    const { auth, server, clock, notified } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    const signedIn = auth.getSnapshot();
    expect(signedIn).toMatchObject({ status: 'signed_in', accessToken: server.issued[0] });
    expect(notified()).toBe(1);
    await clock.advance(720_001);
    expect(server.count('/auth/refresh')).toBe(1);
    expect(auth.getSnapshot()).not.toBe(signedIn);
    expect(auth.getSnapshot()).toMatchObject({ status: 'signed_in', accessToken: server.issued[1] });
    expect(notified()).toBe(2);
    await auth.logout();
    expect(auth.getSnapshot()).toEqual({ status: 'signed_out', claims: null, accessToken: null });
    expect(notified()).toBe(3);
  });

  it('is already consistent when onChange listeners run', async () => {
    const { auth } = setup();
    const seen: string[] = [];
    auth.onChange((e) => seen.push(`${e.type}:${auth.getSnapshot().status}`));
    await auth.login('sam@example.com', 'right password');
    await auth.logout();
    expect(seen).toEqual(['signed_in:signed_in', 'signed_out:signed_out']);
  });

  it('a failed login leaves it as it was', async () => {
    const { auth, notified } = setup();
    await auth.login('sam@example.com', 'wrong').catch(() => undefined);
    expect(auth.getSnapshot().status).toBe('loading');
    expect(notified()).toBe(0);
  });

  it('stops notifying after unsubscribe and after close, and a throwing subscriber harms no other', async () => {
    const { auth, unsubscribe, notified } = setup();
    let other = 0;
    const unsubscribeBuggy = auth.subscribe(() => {
      throw new Error('a subscriber bug');
    });
    auth.subscribe(() => other++);
    // A subscriber's error is rethrown in a microtask, where uncaught errors are reported.
    // Every microtask still runs (fetch's streams use them too); what any of them throws is
    // caught here instead of failing the run, so exactly one error must show.
    const real = globalThis.queueMicrotask;
    const reported: unknown[] = [];
    vi.stubGlobal('queueMicrotask', (task: () => void) =>
      real(() => {
        try {
          task();
        } catch (error) {
          reported.push(error);
        }
      }),
    );
    try {
      await auth.login('sam@example.com', 'right password');
      await new Promise((r) => setTimeout(r, 0));
    } finally {
      vi.unstubAllGlobals();
    }
    expect(other).toBe(1);
    expect(reported).toEqual([new Error('a subscriber bug')]);
    unsubscribeBuggy();
    unsubscribe();
    await auth.logout();
    expect(notified()).toBe(1);
    expect(other).toBe(2);
    auth.close();
    await auth.login('sam@example.com', 'right password');
    expect(auth.getSnapshot().status).toBe('signed_in');
    expect(other).toBe(2);
    expect(auth.subscribe(() => other++)).toBeTypeOf('function');
    await auth.logout();
    expect(other).toBe(2);
  });

  it('follows another tab signing in and out', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock });
    const [a, b] = [0, 1].map(() => createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null })) as [AuthClient, AuthClient];
    clients.push(a, b);
    const statuses: string[] = [];
    b.subscribe(() => statuses.push(b.getSnapshot().status));
    await a.login('sam@example.com', 'right password');
    await new Promise((r) => setTimeout(r, 20));
    await a.logout();
    await new Promise((r) => setTimeout(r, 20));
    expect(statuses).toEqual(['signed_in', 'signed_out']);
  });
});
