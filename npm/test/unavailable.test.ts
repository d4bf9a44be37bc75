// Loading the wasm: the entry point compiles the bytes embedded in the package (no fetch, no
// URL), and a failure to compile, as under a CSP without 'wasm-unsafe-eval', never rejects
// the import: the client starts, and every call that needs the module fails with
// `client_unavailable`, carrying the engine's error as its cause. Each test loads the modules
// afresh (the shared setup's loaded copy is not used).
import { afterEach, describe, expect, it, vi } from 'vitest';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const TOKEN = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64({ sub: 'user-1', sid: 's', iat: 1, exp: 2 })}.c2ln`;
// What Chromium throws when a CSP lacks 'wasm-unsafe-eval'.
const REFUSED = 'WebAssembly.Module(): Refused to compile or instantiate WebAssembly module because \'wasm-eval\' is not an allowed source of script';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

/** The package's entry point, imported fresh; `refuse` makes compiling the wasm throw, as a CSP would. */
async function importEntry({ refuse = false } = {}) {
  vi.resetModules();
  if (refuse) {
    const Real = WebAssembly;
    const Module = function Module() {
      throw new Real.CompileError(REFUSED);
    };
    vi.stubGlobal('WebAssembly', Object.create(Real, { Module: { value: Module } }));
  }
  return import('../src/index.js');
}

describe('the entry point', () => {
  it('compiles the embedded wasm on import: decoding works at once, with no fetch', async () => {
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    const api = await importEntry();
    expect(api.decodeClaims(TOKEN)).toMatchObject({ sub: 'user-1' });
    expect(api.secondsLeft(100, 40_000, 0)).toBe(60);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('still imports when the wasm cannot be compiled, and the client can be created', async () => {
    const api = await importEntry({ refuse: true });
    const auth = api.createAuthClient({ baseUrl: 'https://auth.example.com', storage: null, fetch: vi.fn() });
    expect(auth.claims).toBeNull();
    expect(auth.nextRefreshAt).toBeNull();
    expect(auth.clockOffsetMs).toBe(0);
    auth.close();
  });
});

describe('a client whose wasm could not be compiled', () => {
  const calls: [string, (auth: import('../src/client.js').AuthClient) => Promise<unknown>][] = [
    ['register', (a) => a.register('sam@example.com', 'correct horse battery staple')],
    ['login', (a) => a.login('sam@example.com', 'correct horse battery staple')],
    ['resume', (a) => a.resume()],
    ['logout', (a) => a.logout()],
    ['logoutAll', (a) => a.logoutAll()],
    ['getAccessToken', (a) => a.getAccessToken()],
    ['fetch', (a) => a.fetch('/me')],
    ['sessions', (a) => a.sessions()],
    ['revokeSession', (a) => a.revokeSession('s')],
    ['requestPasswordReset', (a) => a.requestPasswordReset('sam@example.com')],
    ['confirmPasswordReset', (a) => a.confirmPasswordReset('t', 'correct horse battery staple')],
    ['requestEmailVerification', (a) => a.requestEmailVerification()],
    ['confirmEmail', (a) => a.confirmEmail('t')],
    ['changeEmail', (a) => a.changeEmail('sam@example.com', 'correct horse battery staple')],
    ['confirmEmailChange', (a) => a.confirmEmailChange('t')],
  ];
  for (const [name, call] of calls) {
    it(`rejects ${name} with client_unavailable, the engine's error as cause, before any request`, async () => {
      const api = await importEntry({ refuse: true });
      const fetch = vi.fn();
      const auth = api.createAuthClient({ baseUrl: 'https://auth.example.com', storage: null, fetch });
      const error = await call(auth).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(api.AuthError);
      expect(error).toMatchObject({ code: 'client_unavailable', status: 0 });
      expect(String((error as Error).cause)).toContain('wasm-eval');
      expect((error as Error).message).toMatch(/'wasm-unsafe-eval'/);
      expect(fetch).not.toHaveBeenCalled();
      auth.close();
    });
  }

  it('throws client_unavailable from the synchronous helpers', async () => {
    const api = await importEntry({ refuse: true });
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => api.decodeClaims(TOKEN))).toBe('client_unavailable');
    expect(code(() => api.secondsLeft(100, 0, 0))).toBe('client_unavailable');
    expect(code(() => api.isExpired(100, 0, 0))).toBe('client_unavailable');
    expect(code(() => api.refreshDelayMs(1, 100, 0, 0))).toBe('client_unavailable');
    expect(code(() => new api.ClockSkew().observe(1000, 1000, 0, 10))).toBe('client_unavailable');
  });
});
