// A frontend on another origin or site than Tollgate: every request carries the
// `Tollgate-CSRF` header (what a server with CROSS_SITE_COOKIES requires of cross-site
// requests), a refusal comes back as `cross_site_refused` with the server's detail, and a
// request that CORS hid from the page is reported as that, not as "could not be reached".
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AuthClient, createAuthClient } from '../src/client.js';
import { AuthError } from '../src/errors.js';
import { FakeClock } from './fakes.js';

const BASE = 'https://auth.test';
const APP = 'https://app.test';
const clients: AuthClient[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  vi.unstubAllGlobals();
});

/** A client whose `fetch` is `handler`; every request it is given is kept in `seen`. */
function setup(handler: (r: Request) => Promise<Response>, options: { apiOrigins?: string[] } = {}) {
  const seen: Request[] = [];
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const r = new Request(input, init);
    seen.push(r);
    return handler(r);
  };
  const auth = createAuthClient({ baseUrl: BASE, fetch, clock: new FakeClock(), storage: null, ...options });
  clients.push(auth);
  return { auth, seen };
}

const json = (status: number, body: unknown) =>
  Promise.resolve(new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } }));

/** What a browser does to a request CORS refuses: the page sees a TypeError, as when offline. */
const corsRefused = () => Promise.reject(new TypeError('Failed to fetch'));

describe('the Tollgate-CSRF header', () => {
  it('goes with login, refresh and logout, so a server with CROSS_SITE_COOKIES takes them', async () => {
    const { auth, seen } = setup(() => json(401, { code: 'invalid_credentials', detail: 'Incorrect email or password.' }));
    await auth.login('sam@example.com', 'pw').catch(() => undefined);
    await auth.resume().catch(() => undefined);
    await auth.logout().catch(() => undefined);
    expect(seen.map((r) => new URL(r.url).pathname)).toEqual(['/auth/login', '/auth/refresh', '/auth/logout']);
    for (const r of seen) expect(r.headers.get('Tollgate-CSRF'), r.url).toBe('1');
  });
});

describe('cross_site_refused', () => {
  it('a refusal by the server reaches the app with its code and the detail that names the fix', async () => {
    const detail = 'The app is on another site than Tollgate: set CROSS_SITE_COOKIES=true.';
    const { auth } = setup(() => json(403, { code: 'cross_site_refused', detail }));
    for (const attempt of [() => auth.login('sam@example.com', 'pw'), () => auth.resume()]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthError);
      expect(error).toMatchObject({ code: 'cross_site_refused', status: 403, message: detail });
    }
  });

  it('a request CORS hid from a page of another origin is reported as CORS, naming ALLOWED_ORIGINS', async () => {
    vi.stubGlobal('location', { origin: APP });
    // The server is up: a no-cors probe gets its opaque answer.
    const { auth, seen } = setup((r) => (r.mode === 'no-cors' ? Promise.resolve(new Response(null, { status: 200 })) : corsRefused()));
    const error = await auth.login('sam@example.com', 'pw').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'cross_site_refused', status: 0 });
    expect((error as AuthError).message).toContain(`add ${APP} to the Tollgate server's ALLOWED_ORIGINS`);
    expect((error as AuthError).cause).toBeInstanceOf(TypeError);
    const probe = seen[1];
    expect([probe.method, probe.mode, probe.credentials, probe.url]).toEqual(['HEAD', 'no-cors', 'omit', `${BASE}/auth/login`]);
  });

  it('for one of the app\'s API origins, it names that server\'s CORS settings instead', async () => {
    vi.stubGlobal('location', { origin: APP });
    const api = 'https://api.test';
    const { auth } = setup((r) => (r.mode === 'no-cors' ? Promise.resolve(new Response(null)) : corsRefused()), { apiOrigins: [api] });
    const error = await auth.fetch(`${api}/data`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'cross_site_refused' });
    expect((error as AuthError).message).toContain(`let ${APP} call it in that server's CORS settings`);
  });

  it('stays network_error when the server does not answer at all, for same-origin pages, aborts and other origins', async () => {
    vi.stubGlobal('location', { origin: APP });
    const down = setup(() => corsRefused());
    expect(await down.auth.login('a@b.io', 'pw').catch((e: unknown) => e)).toMatchObject({ code: 'network_error' });
    expect(down.seen.length).toBe(2); // the request and the probe

    const abort = setup((r) => (r.mode === 'no-cors' ? Promise.resolve(new Response(null)) : Promise.reject(new DOMException('aborted', 'AbortError'))));
    expect(await abort.auth.login('a@b.io', 'pw').catch((e: unknown) => e)).toMatchObject({ code: 'network_error' });
    expect(abort.seen.length).toBe(1);

    const elsewhere = setup((r) => (r.mode === 'no-cors' ? Promise.resolve(new Response(null)) : corsRefused()));
    expect(await elsewhere.auth.fetch('https://third-party.test/x').catch((e: unknown) => e)).toMatchObject({ code: 'network_error' });
    expect(elsewhere.seen.length, 'no probe of an origin that is not the client\'s').toBe(1);

    vi.stubGlobal('location', { origin: BASE });
    const same = setup((r) => (r.mode === 'no-cors' ? Promise.resolve(new Response(null)) : corsRefused()));
    expect(await same.auth.login('a@b.io', 'pw').catch((e: unknown) => e)).toMatchObject({ code: 'network_error' });
    expect(same.seen.length, 'a same-origin request is never refused by CORS: no probe').toBe(1);
  });
});
