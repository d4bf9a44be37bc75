import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuthClient, createAuthClient } from '../src/client.js';
import { AuthError } from '../src/errors.js';
import { FakeClock, FakeServer } from './fakes.js';

const BASE = 'https://auth.test';
const clients: AuthClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  vi.unstubAllGlobals();
});

interface Seen { method: string; path: string; search: string; authorization: string | null }

/** Sign-in from the fake server; the identity routes answered as the real server does. */
function setup(answer: (method: string, path: string) => Response) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const seen: Seen[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (!url.pathname.startsWith('/auth/identities')) return server.fetch(request);
    seen.push({ method: request.method, path: url.pathname, search: url.search, authorization: request.headers.get('Authorization') });
    return answer(request.method, url.pathname);
  };
  const auth = createAuthClient({ baseUrl: BASE, fetch, clock, storage: null });
  clients.push(auth);
  return { auth, seen };
}

function stubLocation(href: string) {
  const assign = vi.fn();
  vi.stubGlobal('location', { href, assign });
  return assign;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('signing in with an identity provider', () => {
  it('signInWith sends the browser to the start route with redirect_to (this page by default)', () => {
    const { auth } = setup(() => json(500, {}));
    const assign = stubLocation('https://app.test/account?tab=1#old');
    auth.signInWith('google');
    auth.signInWith('my idp', { redirectTo: 'https://app.test/after' });
    expect(assign.mock.calls.map(([u]) => u)).toEqual([
      'https://auth.test/auth/oauth/google/start?redirect_to=https%3A%2F%2Fapp.test%2Faccount%3Ftab%3D1',
      'https://auth.test/auth/oauth/my%20idp/start?redirect_to=https%3A%2F%2Fapp.test%2Fafter',
    ]);
  });

  it('lists, links and unlinks with the bearer token, and surfaces last_login_method', async () => {
    const { auth, seen } = setup((method) => {
      if (method === 'GET') return json(200, { identities: [{ provider: 'google', subject: '42', linked_at: 1 }], providers: ['google'] });
      if (method === 'POST') return json(200, { url: 'https://auth.test/auth/oauth/github/start?link=t' });
      return json(409, { detail: 'last', code: 'last_login_method' });
    });
    const assign = stubLocation('https://app.test/account');
    await auth.login('sam@example.com', 'right password');
    const bearer = `Bearer ${await auth.getAccessToken()}`;
    expect(await auth.identities()).toEqual([{ provider: 'google', subject: '42', linked_at: 1 }]);
    await auth.linkIdentity('github');
    expect(assign).toHaveBeenCalledWith('https://auth.test/auth/oauth/github/start?link=t');
    const refused = await auth.unlinkIdentity('google').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect((refused as AuthError).code).toBe('last_login_method');
    expect((refused as AuthError).status).toBe(409);
    expect(seen).toEqual([
      { method: 'GET', path: '/auth/identities', search: '', authorization: bearer },
      { method: 'POST', path: '/auth/identities/github/link', search: '?redirect_to=https%3A%2F%2Fapp.test%2Faccount', authorization: bearer },
      { method: 'DELETE', path: '/auth/identities/google', search: '', authorization: bearer },
    ]);
  });
});

describe('coming back from a provider', () => {
  it('signInWith clears the signed-out hint, so the next page load resumes from the cookie', async () => {
    const clock = new FakeClock();
    const server = new FakeServer({ clock });
    const stored = new Map<string, string>();
    const storage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v), removeItem: (k: string) => void stored.delete(k) };
    let refreshes = 0;
    const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname === '/auth/refresh') refreshes++;
      return server.fetch(request);
    };
    const first = createAuthClient({ baseUrl: BASE, fetch, clock, storage });
    clients.push(first);
    // No session yet: the refresh is refused, and the client remembers it is signed out.
    server.refreshPlan.push({ status: 401, body: { detail: 'x', code: 'invalid_refresh_token' } });
    expect(await first.resume()).toBeNull();
    expect(stored.size).toBe(1);
    const before = refreshes;
    stubLocation('https://app.test/');
    first.signInWith('google');
    // The next page (a new client over the same storage) asks the server.
    const next = createAuthClient({ baseUrl: BASE, fetch, clock, storage });
    clients.push(next);
    await next.resume();
    expect(refreshes).toBe(before + 1);
  });
});
