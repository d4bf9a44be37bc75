// `apiOrigins`: the app's own APIs on other origins get the bearer token from `auth.fetch`,
// with the same 401 -> refresh -> retry rule as Tollgate's origin; every other origin never
// sees it. The fake server answers every origin (it routes by path), so a call to an origin
// that should get no token still shows what was sent.
import { afterEach, describe, expect, it } from 'vitest';
import { type AuthClient, createAuthClient } from '../src/client.js';
import { FakeClock, FakeServer } from './fakes.js';

const BASE = 'https://auth.example.com';
const API = 'https://api.example.com';
const clients: AuthClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

async function signedIn(apiOrigins?: string[]) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const auth = createAuthClient({ baseUrl: BASE, fetch: server.fetch, clock, storage: null, ...(apiOrigins && { apiOrigins }) });
  clients.push(auth);
  await auth.login('sam@example.com', 'right password');
  return { server, auth };
}

const sent = (server: FakeServer, origin: string) =>
  server.calls.filter((c) => c.origin === origin && c.path === '/me').map((c) => c.authorization);

describe('apiOrigins', () => {
  it('sends the token to a listed origin, as to baseUrl', async () => {
    const { server, auth } = await signedIn([API]);
    const res = await auth.fetch(`${API}/me`);
    expect(res.status).toBe(200);
    expect(sent(server, API)).toEqual([`Bearer ${server.issued[0]}`]);
    await auth.fetch('/me');
    expect(sent(server, BASE)).toEqual([`Bearer ${server.issued[0]}`]);
  });

  it('accepts a URL object and a Request for a listed origin', async () => {
    const { server, auth } = await signedIn([API]);
    await auth.fetch(new URL('/me', API));
    await auth.fetch(new Request(`${API}/me`));
    expect(sent(server, API)).toEqual([`Bearer ${server.issued[0]}`, `Bearer ${server.issued[0]}`]);
  });

  // Near misses of the listed origin: another scheme, port, host, subdomain, a lookalike, and
  // the listed origin's name inside another URL's path or query.
  const unlisted = [
    'http://api.example.com', 'https://api.example.com:8443', 'https://example.com', 'https://v2.api.example.com',
    'https://api.example.com.evil.test', 'https://evil.test/https://api.example.com',
    'https://evil.test?next=https://api.example.com',
  ];
  for (const origin of unlisted) {
    it(`never sends it to ${origin}`, async () => {
      const { server, auth } = await signedIn([API]);
      const url = origin.includes('/https:') || origin.includes('?') ? origin.replace(/(\?|\/https:)/, '/me$1') : `${origin}/me`;
      await auth.fetch(url);
      const calls = server.calls.filter((c) => c.method === 'GET' && c.path.startsWith('/me'));
      expect(calls).toHaveLength(1);
      expect(calls[0]!.authorization).toBeNull();
    });
  }

  it('without apiOrigins, only baseUrl gets the token', async () => {
    const { server, auth } = await signedIn();
    await auth.fetch(`${API}/me`);
    expect(sent(server, API)).toEqual([null]);
  });

  it('a 401 from a listed origin refreshes once and retries once with the new token', async () => {
    const { server, auth } = await signedIn([API]);
    server.refused.add(server.issued[0]!);
    const res = await auth.fetch(`${API}/me`);
    expect(res.status).toBe(200);
    expect(server.count('/auth/refresh')).toBe(1);
    expect(sent(server, API)).toEqual([`Bearer ${server.issued[0]}`, `Bearer ${server.issued[1]}`]);
  });

  it('a 401 from an unlisted origin is handed back as is: no refresh, no retry', async () => {
    const { server, auth } = await signedIn([API]);
    const res = await auth.fetch('https://elsewhere.example.net/me');
    expect(res.status).toBe(401);
    expect(server.count('/auth/refresh')).toBe(0);
    expect(server.calls.filter((c) => c.origin === 'https://elsewhere.example.net')).toHaveLength(1);
  });

  it('normalises listed origins: case, a default port and a trailing slash do not matter', async () => {
    const { server, auth } = await signedIn(['HTTPS://API.Example.com:443/']);
    await auth.fetch(`${API}/me`);
    expect(sent(server, API)).toEqual([`Bearer ${server.issued[0]}`]);
  });

  const invalid = ['api.example.com', 'https://api.example.com/v1', 'https://api.example.com?x=1', 'https://user@api.example.com',
    '*', 'https://*.example.com', 'ftp://api.example.com', ''];
  for (const entry of invalid) {
    it(`refuses ${JSON.stringify(entry)}, which is not an origin, when the client is created`, () => {
      expect(() => createAuthClient({ baseUrl: BASE, storage: null, apiOrigins: [entry] })).toThrow(/apiOrigins/);
    });
  }
});
