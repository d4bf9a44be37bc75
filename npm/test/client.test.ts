import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuthClient, createAuthClient } from '../src/client.js';
import { decodeClaims } from '../src/claims.js';
import { AuthError } from '../src/errors.js';
import type { AuthEvent } from '../src/events.js';
import { FakeClock, FakeServer, settle } from './fakes.js';

const BASE = 'https://auth.test';
const clients: AuthClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function setup(options: { offsetMs?: number; ttl?: number } = {}) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock, ...options });
  const auth = createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null });
  clients.push(auth);
  const events: AuthEvent[] = [];
  auth.onChange((e) => events.push(e));
  return { clock, server, auth, events, types: () => events.map((e) => e.type) };
}

const tokenOf = (call: { authorization: string | null }) => call.authorization?.slice('Bearer '.length) ?? '';

describe('sign-in', () => {
  it('logs in with the form-encoded password grant and keeps the token in memory', async () => {
    const { auth, server, types } = setup();
    const claims = await auth.login('sam@example.com', 'right password');
    expect(claims.sub).toBe('user-1');
    expect(auth.claims?.sid).toBe('session-1');
    expect(await auth.getAccessToken()).toBe(server.issued[0]);
    expect(types()).toEqual(['signed_in']);
  });

  it('throws the server\'s code for wrong credentials and stays signed out', async () => {
    const { auth } = setup();
    const error = await auth.login('sam@example.com', 'wrong').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('invalid_credentials');
    expect((error as AuthError).status).toBe(401);
    expect(auth.claims).toBeNull();
    expect(await auth.getAccessToken()).toBeNull();
  });

  it('resumes a session with the cookie, and reports no session as null', async () => {
    const { auth, server, types } = setup();
    expect((await auth.resume())?.sub).toBe('user-1');
    expect(types()).toEqual(['signed_in']);
    const other = setup();
    other.server.refreshPlan.push({ status: 401, body: { detail: 'x', code: 'invalid_refresh_token' } });
    expect(await other.auth.resume()).toBeNull();
    expect(other.types()).toEqual([]);
    expect(server.count('/auth/refresh')).toBe(1);
  });
});

describe('silent refresh scheduling', () => {
  // The local clock is wrong by ±10 minutes; the server's Date header and the token's iat
  // let the client plan by the server's clock. Without that, a slow clock (server ahead)
  // would refresh after expiry and a fast one (server behind) would refresh in a loop.
  it.each([
    ['local clock 10 min slow', 600_000],
    ['local clock 10 min fast', -600_000],
    ['local clock right', 0],
  ])('%s: refreshes once per ~80 %% of the lifetime, always before expiry', async (_, offsetMs) => {
    const { auth, server, clock } = setup({ offsetMs, ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    const planned = auth.nextRefreshAt! - clock.now();
    expect(planned).toBeGreaterThan(720_000 - 60_000 - 1_000);
    expect(planned).toBeLessThanOrEqual(720_000 + 1_000);

    const lifetimes = 10;
    for (let i = 0; i < lifetimes * 90; i++) {
      const before = server.issued.at(-1)!;
      await clock.advance(10_000);
      const after = server.issued.at(-1)!;
      if (after !== before) {
        // The refresh came while the old token was still valid by the server's clock.
        expect(server.accepts(before) || server.refused.has(before)).toBe(true);
      }
      expect(server.accepts((await auth.getAccessToken())!)).toBe(true);
    }
    const refreshes = server.count('/auth/refresh');
    expect(refreshes).toBeGreaterThanOrEqual(12); // 9 000 s / 720 s = 12.5
    expect(refreshes).toBeLessThanOrEqual(14); // 9 000 s / 660 s = 13.6
  });

  it('a 4-second token refreshes before expiry, never in a loop', async () => {
    // `iat` and `exp` are whole seconds, so a token received at x.9 s is already 0.9 s old:
    // refreshes come every 1-2 s. A loop would be many per second.
    const { auth, server, clock } = setup({ ttl: 4 });
    await auth.login('sam@example.com', 'right password');
    for (let i = 0; i < 80; i++) {
      await clock.advance(500);
      expect(server.accepts((await auth.getAccessToken())!)).toBe(true);
    }
    const times = server.calls.filter((c) => c.path === '/auth/refresh').map((c) => c.at);
    expect(times.length).toBeGreaterThanOrEqual(20);
    expect(times.length).toBeLessThanOrEqual(40);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500);
  });

  it('emits token_refreshed with the new claims', async () => {
    const { auth, clock, events } = setup({ ttl: 60 });
    await auth.login('sam@example.com', 'right password');
    const first = auth.claims!.jti;
    await clock.advance(31_000);
    const refreshed = events.find((e) => e.type === 'token_refreshed');
    expect(refreshed && 'claims' in refreshed && refreshed.claims.jti).not.toBe(first);
    expect(auth.claims!.jti).not.toBe(first);
  });
});

describe('single flight', () => {
  it('50 concurrent callers of a due token share exactly one network refresh', async () => {
    const { auth, server, clock } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    let release!: () => void;
    server.hold = new Promise((r) => (release = r));
    clock.sleep(800_000); // past the refresh moment, with no timer having fired yet
    const callers = Array.from({ length: 50 }, () => auth.getAccessToken());
    await settle();
    release();
    const tokens = await Promise.all(callers);
    expect(server.count('/auth/refresh')).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).toBe(server.issued.at(-1));
  });

  it('concurrent 401s queue behind one refresh and each retries once', async () => {
    const { auth, server } = setup();
    await auth.login('sam@example.com', 'right password');
    server.refused.add(server.issued[0]!); // revoked server-side before its expiry
    const responses = await Promise.all(Array.from({ length: 10 }, () => auth.fetch('/me')));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(server.count('/auth/refresh')).toBe(1);
    const me = server.calls.filter((c) => c.path === '/me');
    expect(me).toHaveLength(20);
    expect(new Set(me.slice(10).map(tokenOf))).toEqual(new Set([server.issued[1]]));
  });
});

describe('the authenticated fetch', () => {
  it('adds the bearer token for the server\'s origin only', async () => {
    const { auth, server } = setup();
    await auth.login('sam@example.com', 'right password');
    await auth.fetch('/me');
    await auth.fetch('https://elsewhere.test/me');
    const [own, foreign] = server.calls.filter((c) => c.path === '/me');
    expect(tokenOf(own!)).toBe(server.issued[0]);
    expect(foreign!.authorization).toBeNull();
  });

  it('retries a 401 once with a refreshed token, replaying the body', async () => {
    const { auth, server } = setup();
    await auth.login('sam@example.com', 'right password');
    server.refused.add(server.issued[0]!);
    const res = await auth.fetch('/echo', { method: 'POST', body: 'payload' });
    expect(await res.json()).toEqual({ body: 'payload' });
    expect(server.count('/echo')).toBe(2);
  });

  it('returns the 401 when the retry is also refused, without looping', async () => {
    const { auth, server } = setup();
    await auth.login('sam@example.com', 'right password');
    server.acceptNone = true;
    const res = await auth.fetch('/me');
    expect(res.status).toBe(401);
    expect(server.count('/me')).toBe(2);
    expect(server.count('/auth/refresh')).toBe(1);
  });

  it('rejects with AuthError network_error where fetch would reject', async () => {
    const clock = new FakeClock();
    const auth = createAuthClient({ baseUrl: BASE, clock, storage: null, fetch: () => Promise.reject(new TypeError('offline')) });
    clients.push(auth);
    const error = await auth.fetch('/me').catch((e: unknown) => e);
    expect((error as AuthError).code).toBe('network_error');
    expect((error as AuthError).cause).toBeInstanceOf(TypeError);
  });
});

describe('failures that keep the session', () => {
  it.each([
    ['503', { status: 503, body: { detail: 'down', code: 'storage_unavailable' } }],
    ['500 without JSON', { status: 500 }],
    ['a network error', 'network' as const],
  ])('backs off on %s and recovers without signing out', async (_, failure) => {
    const { auth, server, clock, events, types } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    server.refreshPlan.push(failure, failure, failure);
    await clock.advance(720_000);
    await clock.advance(30_000);
    expect(types()).not.toContain('signed_out');
    const failed = events.filter((e) => e.type === 'refresh_failed');
    expect(failed).toHaveLength(3);
    const waits = failed.map((e) => (e.type === 'refresh_failed' ? e.retryInMs : 0));
    expect(waits[1]).toBeGreaterThan(waits[0]! / 2);
    expect(waits[2]).toBeGreaterThanOrEqual(2_000);
    expect(types().at(-1)).toBe('token_refreshed');
    expect(server.count('/auth/refresh')).toBe(4);
    expect(auth.claims).not.toBeNull();
  });

  it('honours Retry-After on 429', async () => {
    const { auth, server, clock, events } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    server.refreshPlan.push({ status: 429, body: { detail: 'slow down', code: 'too_many_attempts' }, headers: { 'Retry-After': '45' } });
    clock.sleep(730_000); // past the refresh moment; the wake-up check finds it due
    await clock.advance(5_000);
    expect(server.count('/auth/refresh')).toBe(1);
    const failed = events.find((e) => e.type === 'refresh_failed');
    expect(failed?.type === 'refresh_failed' && failed.error.retryAfter).toBe(45);
    expect(failed?.type === 'refresh_failed' && failed.retryInMs).toBeGreaterThanOrEqual(45_000);
    // Neither the background retry nor a caller asks again inside the 45 s.
    await clock.advance(44_000);
    expect(await auth.getAccessToken()).toBe(server.issued[0]);
    expect(server.count('/auth/refresh')).toBe(1);
    await clock.advance(2_000);
    expect(server.count('/auth/refresh')).toBe(2);
    expect(auth.claims?.jti).toBe('jti-2');
  });

  // An HTTP-date Retry-After is the server's clock. Counted from the local clock it would be
  // wrong by the clock's error: ten minutes slow would wait ten minutes too long, ten minutes
  // fast would not wait at all. The response's own Date header is the right origin; without
  // one (a cross-origin server that does not expose it), the local clock plus the skew estimate.
  it.each([
    ['10 min slow', 'its Date header', 600_000],
    ['10 min fast', 'its Date header', -600_000],
    ['10 min slow', 'the skew estimate', 600_000],
    ['10 min fast', 'the skew estimate', -600_000],
  ])('counts an HTTP-date Retry-After on 503 by the server\'s clock (local clock %s, from %s)', async (_, origin, offsetMs) => {
    const { auth, server, clock, events } = setup({ offsetMs, ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    const retryAt = (s: FakeServer) => ({ 'Retry-After': new Date(s.serverNow() + 45_000).toUTCString() });
    server.refreshPlan.push({
      status: 503,
      body: { detail: 'down', code: 'storage_unavailable' },
      headers: retryAt,
      noDate: origin === 'the skew estimate',
    });
    clock.sleep(730_000);
    await clock.advance(5_000);
    expect(server.count('/auth/refresh')).toBe(1);
    const failed = events.find((e) => e.type === 'refresh_failed');
    const error = failed?.type === 'refresh_failed' ? failed.error : undefined;
    expect(error?.code).toBe('storage_unavailable');
    // 45 s, or 46 when only the skew estimate (1 s wide: Date headers and iat are whole seconds) says.
    expect(error?.retryAfter).toBeGreaterThanOrEqual(45);
    expect(error?.retryAfter).toBeLessThanOrEqual(origin === 'the skew estimate' ? 46 : 45);
    await clock.advance(44_000);
    expect(server.count('/auth/refresh')).toBe(1);
    await clock.advance(3_000);
    expect(server.count('/auth/refresh')).toBe(2);
    expect(auth.claims?.jti).toBe('jti-2');
  });

  it('hands out the still-valid token while the server is unreachable, and throws once it expired', async () => {
    const { auth, server, clock } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    server.refreshPlan.push(...Array<'network'>(100).fill('network'));
    clock.sleep(800_000);
    expect(await auth.getAccessToken()).toBe(server.issued[0]);
    clock.sleep(200_000);
    const error = await auth.getAccessToken().catch((e: unknown) => e);
    expect((error as AuthError).code).toBe('network_error');
    expect(auth.claims).not.toBeNull();
  });

  it('retries as soon as the browser says it is back online', async () => {
    const target = new EventTarget();
    const g = globalThis as unknown as Record<string, unknown>;
    g.addEventListener = target.addEventListener.bind(target);
    g.removeEventListener = target.removeEventListener.bind(target);
    try {
      const { auth, server, clock, types } = setup({ ttl: 900 });
      await auth.login('sam@example.com', 'right password');
      server.refreshPlan.push(...Array<'network'>(10).fill('network'));
      clock.sleep(730_000);
      await clock.advance(8_000); // the wake-up check and a few backed-off retries fail
      expect(types()).toContain('refresh_failed');
      const before = server.count('/auth/refresh');
      server.refreshPlan.length = 0;
      target.dispatchEvent(new Event('online'));
      await settle();
      expect(server.count('/auth/refresh')).toBe(before + 1);
      expect(types().at(-1)).toBe('token_refreshed');
    } finally {
      delete g.addEventListener;
      delete g.removeEventListener;
    }
  });
});

describe('what ends a session', () => {
  it.each(['invalid_refresh_token', 'refresh_token_reused'])('a 401 %s from /auth/refresh signs out', async (code) => {
    const { auth, server, clock, events } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    server.refreshPlan.push({ status: 401, body: { detail: 'over', code } });
    await clock.advance(720_001);
    const out = events.at(-1);
    expect(out?.type).toBe('signed_out');
    expect(out?.type === 'signed_out' && out.reason).toBe('session_ended');
    expect(out?.type === 'signed_out' && out.error?.code).toBe(code);
    expect(auth.claims).toBeNull();
    expect(auth.nextRefreshAt).toBeNull();
    expect(await auth.getAccessToken()).toBeNull();
    await clock.advance(3_600_000);
    expect(server.count('/auth/refresh')).toBe(1); // nothing more once signed out
    expect(clock.pendingTimers).toBe(0);
  });

  it('logout, logoutAll and revoking the current session sign out with their reason', async () => {
    for (const [act, reason] of [
      [(a: AuthClient) => a.logout(), 'logout'],
      [(a: AuthClient) => a.logoutAll(), 'logout_all'],
      [(a: AuthClient) => a.revokeSession('session-1'), 'revoked'],
    ] as const) {
      const { auth, server, events } = setup();
      await auth.login('sam@example.com', 'right password');
      await act(auth);
      expect(events.at(-1)).toEqual({ type: 'signed_out', reason });
      expect(auth.claims).toBeNull();
      expect(server.calls.at(-1)!.path).toMatch(/^\/auth\/(logout|logout-all|sessions\/session-1)$/);
    }
  });

  it('lists sessions with the bearer token', async () => {
    const { auth, server } = setup();
    await auth.login('sam@example.com', 'right password');
    const sessions = await auth.sessions();
    expect(sessions[0]).toMatchObject({ id: 'session-1', current: true });
    expect(tokenOf(server.calls.at(-1)!)).toBe(server.issued[0]);
  });
});

describe('sleep', () => {
  it('a wall-clock jump between ticks triggers the overdue refresh at once', async () => {
    const { auth, server, clock } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    await clock.advance(100_000);
    // Asleep for 700 s: timers are paused, so the refresh timer would fire ~700 s late,
    // long after the token expired.
    clock.sleep(700_000);
    await clock.advance(6_000);
    expect(server.count('/auth/refresh')).toBe(1);
    expect(server.accepts((await auth.getAccessToken())!)).toBe(true);
  });
});

describe('wake-up events', () => {
  // Browsers throttle or pause timers in background tabs and during sleep, so a due refresh
  // may be late by any amount; these events are when the page can be sure time has passed.
  // After a sleep the fake clock's timers have not fired (nothing is advanced): only the
  // event can start the refresh.
  function fakePage(visibilityState: DocumentVisibilityState = 'visible') {
    const window = new EventTarget();
    const document = Object.assign(new EventTarget(), { visibilityState });
    vi.stubGlobal('addEventListener', window.addEventListener.bind(window));
    vi.stubGlobal('removeEventListener', window.removeEventListener.bind(window));
    vi.stubGlobal('document', document);
    return { window, document };
  }
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it.each([
    ['online', 'window'],
    ['focus', 'window'],
    ['pageshow', 'window'],
    ['visibilitychange', 'document'],
  ] as const)('%s on the %s after a sleep checks the token at once and refreshes the due one', async (event, target) => {
    const page = fakePage();
    const { auth, server, clock, types } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    clock.sleep(730_000); // past the refresh moment (720 s), no timer fired
    await settle();
    expect(server.count('/auth/refresh')).toBe(0);
    page[target].dispatchEvent(new Event(event));
    await settle();
    expect(server.count('/auth/refresh')).toBe(1);
    expect(types().at(-1)).toBe('token_refreshed');
    expect(server.accepts((await auth.getAccessToken())!)).toBe(true);
  });

  it.each(['online', 'focus', 'pageshow'] as const)('%s with a token not yet due only re-plans the refresh', async (event) => {
    const page = fakePage();
    const { auth, server, clock } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    const planned = auth.nextRefreshAt!;
    clock.sleep(300_000); // timers are 300 s late now
    page.window.dispatchEvent(new Event(event));
    await settle();
    expect(server.count('/auth/refresh')).toBe(0);
    // Re-planned by the wall clock, not left to fire 300 s late.
    expect(auth.nextRefreshAt).toBe(planned);
    expect(clock.timerTimes).toContain(planned);
    expect(clock.timerTimes).not.toContain(planned + 300_000);
  });

  it('visibilitychange to hidden does nothing; back to visible refreshes', async () => {
    const page = fakePage('hidden');
    const { auth, server, clock } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    clock.sleep(730_000);
    page.document.dispatchEvent(new Event('visibilitychange'));
    await settle();
    expect(server.count('/auth/refresh')).toBe(0);
    page.document.visibilityState = 'visible';
    page.document.dispatchEvent(new Event('visibilitychange'));
    await settle();
    expect(server.count('/auth/refresh')).toBe(1);
  });

  it('after sign-out the events are no longer listened to', async () => {
    const page = fakePage();
    const { auth, server, clock } = setup({ ttl: 900 });
    await auth.login('sam@example.com', 'right password');
    await auth.logout();
    clock.sleep(730_000);
    for (const event of ['online', 'focus', 'pageshow']) page.window.dispatchEvent(new Event(event));
    page.document.dispatchEvent(new Event('visibilitychange'));
    await settle();
    expect(server.count('/auth/refresh')).toBe(0);
  });
});

describe('across tabs (BroadcastChannel in one process)', () => {
  it('a refresh in one tab hands the token to the others, which then skip theirs', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock, ttl: 900 });
    const [a, b] = [0, 1].map(() => createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null }));
    clients.push(a!, b!);
    const seen: string[] = [];
    b!.onChange((e) => seen.push(e.type));
    await a!.login('sam@example.com', 'right password');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['signed_in']);
    expect(await b!.getAccessToken()).toBe(server.issued[0]);
    clock.sleep(730_000);
    await a!.getAccessToken();
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['signed_in', 'token_refreshed']);
    expect(await b!.getAccessToken()).toBe(server.issued[1]);
    expect(server.count('/auth/refresh')).toBe(1);
    // A tab that finds no session (its resume gets 401) must not sign the others out.
    const c = createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null });
    clients.push(c);
    server.refreshPlan.push({ status: 401, body: { detail: 'no', code: 'invalid_refresh_token' } });
    expect(await c.resume()).toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    expect(b!.claims).not.toBeNull();
    await a!.logout();
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.at(-1)).toBe('signed_out');
    expect(b!.claims).toBeNull();
  });
});

describe('across tabs: what a tab takes from the channel', () => {
  // Any script of the origin can post on the channel (another app, an XSS, a buggy tab): a
  // tab takes another session's token only when it has none and the message is a sign-in.
  const channels: BroadcastChannel[] = [];
  afterEach(() => {
    for (const c of channels.splice(0)) c.close();
  });

  function tab() {
    const t = setup();
    const channel = new BroadcastChannel(`tollgate:${new URL(BASE).href}`);
    channels.push(channel);
    const post = async (message: unknown) => {
      channel.postMessage(message);
      await new Promise((r) => setTimeout(r, 20));
    };
    /** A token the fake server issues for session `sid`, a minute later than the last. */
    const tokenFor = (sid: string) => {
      t.clock.sleep(60_000);
      const previous = t.server.sid;
      t.server.sid = sid;
      const token = t.server.token();
      t.server.sid = previous;
      return token;
    };
    return { ...t, post, tokenFor };
  }

  it('a signed-in tab ignores tokens of another session, sign-in or refresh', async () => {
    const { auth, post, tokenFor, types, server } = tab();
    await auth.login('sam@example.com', 'right password');
    const own = server.issued[0];
    for (const event of ['signed_in', 'token_refreshed', undefined]) {
      await post({ type: 'token', token: tokenFor('attacker-session'), ...(event && { event }) });
      expect(auth.claims?.sid, String(event)).toBe('session-1');
    }
    expect(await auth.getAccessToken()).toBe(own);
    expect(types()).toEqual(['signed_in']);
    // Its own session's newer token is taken.
    const refreshed = tokenFor('session-1');
    await post({ type: 'token', token: refreshed, event: 'token_refreshed' });
    expect(await auth.getAccessToken()).toBe(refreshed);
    expect(types()).toEqual(['signed_in', 'token_refreshed']);
  });

  it('a signed-out tab takes a sign-in, never a refresh', async () => {
    const { auth, post, tokenFor, types } = tab();
    await post({ type: 'token', token: tokenFor('session-7'), event: 'token_refreshed' });
    await post({ type: 'token', token: tokenFor('session-7') }); // no kind: not a sign-in
    expect(auth.claims).toBeNull();
    expect(types()).toEqual([]);
    const signIn = tokenFor('session-7');
    await post({ type: 'token', token: signIn, event: 'signed_in' });
    expect(auth.claims?.sid).toBe('session-7');
    expect(await auth.getAccessToken()).toBe(signIn);
    expect(types()).toEqual(['signed_in']);
  });

  it('a signed_out message ends only its own session, and a late refresh does not revive it', async () => {
    const { auth, post, tokenFor, events, types } = tab();
    await auth.login('sam@example.com', 'right password');
    await post({ type: 'signed_out', sid: 'session-2', reason: 'logout' });
    await post({ type: 'signed_out', reason: 'logout' });
    expect(auth.claims?.sid).toBe('session-1');
    await post({ type: 'signed_out', sid: 'session-1', reason: 'logout_all' });
    expect(auth.claims).toBeNull();
    expect(events.at(-1)).toEqual({ type: 'signed_out', reason: 'logout_all' });
    await post({ type: 'token', token: tokenFor('session-1'), event: 'token_refreshed' });
    expect(auth.claims).toBeNull();
    expect(types()).toEqual(['signed_in', 'signed_out']);
  });

  it('a refresh that comes back for another session (a login elsewhere replaced the cookie) is a sign-in, here and in other tabs', async () => {
    const { auth, server, clock, types } = tab();
    await auth.login('sam@example.com', 'right password');
    // A tab opened after the login, not signed in yet.
    const other = createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null });
    clients.push(other);
    server.sid = 'session-2';
    clock.sleep(730_000);
    await auth.getAccessToken();
    await new Promise((r) => setTimeout(r, 20));
    expect(auth.claims?.sid).toBe('session-2');
    expect(types()).toEqual(['signed_in', 'signed_in']);
    expect(other.claims?.sid, 'the signed-out tab took it as a sign-in').toBe('session-2');
  });

  it('a message the tab does not take teaches it nothing about the clock', async () => {
    const { auth, post, tokenFor } = tab();
    await auth.login('sam@example.com', 'right password');
    const before = auth.clockOffsetMs;
    const hour = 3_600_000;
    await post({ type: 'token', token: tokenFor('attacker-session'), event: 'signed_in', skew: { low: hour, high: hour } });
    expect(auth.clockOffsetMs).toBe(before);
  });

  it('malformed messages change nothing', async () => {
    const { auth, post, types } = tab();
    await auth.login('sam@example.com', 'right password');
    for (const message of [
      null, 'token', { type: 'token' }, { type: 'token', token: 42, event: 'signed_in' },
      { type: 'token', token: 'not.a.jwt', event: 'signed_in' },
      { type: 'signed_out', sid: 'session-1', reason: 'made_up' }, { type: 'signed_out', sid: 1, reason: 'logout' },
    ]) {
      await post(message);
    }
    expect(auth.claims?.sid).toBe('session-1');
    expect(types()).toEqual(['signed_in']);
  });
});

it('decodes the claims the client holds with the same wasm', async () => {
  const { auth, server } = setup();
  await auth.login('sam@example.com', 'right password');
  expect(auth.claims).toEqual(decodeClaims(server.issued[0]!));
});
