import { afterEach, describe, expect, it } from 'vitest';
import { type AuthClient, createAuthClient } from '../src/client.js';
import { AuthError } from '../src/errors.js';
import { FakeClock, FakeServer } from './fakes.js';

const BASE = 'https://auth.test';
const clients: AuthClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

interface Seen { method: string; path: string; body: unknown; authorization: string | null }

/** The fake server for sign-in, and the recovery routes answered as the real server does. */
function setup(answer: (path: string) => Response = () => new Response(null, { status: 202 })) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const seen: Seen[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (!/^\/auth\/(password-reset|email-verification|email)(\/confirm)?$/.test(path)) return server.fetch(request);
    const text = await request.text();
    seen.push({ method: request.method, path, body: text ? JSON.parse(text) : undefined, authorization: request.headers.get('Authorization') });
    return answer(path);
  };
  const auth = createAuthClient({ baseUrl: BASE, fetch, clock, storage: null });
  clients.push(auth);
  return { auth, seen };
}

const accepted = (path: string) => new Response(null, { status: path.endsWith('/confirm') ? 204 : 202 });

describe('password reset and email ownership', () => {
  it('posts each call as JSON to its route and resolves on 202 and 204', async () => {
    const { auth, seen } = setup(accepted);
    await auth.requestPasswordReset('sam@example.com');
    await auth.confirmPasswordReset('tok-1', 'a brand new passphrase');
    await auth.confirmEmail('tok-2');
    await auth.confirmEmailChange('tok-3');
    expect(seen).toEqual([
      { method: 'POST', path: '/auth/password-reset', body: { email: 'sam@example.com' }, authorization: null },
      { method: 'POST', path: '/auth/password-reset/confirm', body: { token: 'tok-1', new_password: 'a brand new passphrase' }, authorization: null },
      { method: 'POST', path: '/auth/email-verification/confirm', body: { token: 'tok-2' }, authorization: null },
      { method: 'POST', path: '/auth/email/confirm', body: { token: 'tok-3' }, authorization: null },
    ]);
  });

  it('sends the bearer token where the route needs it, and to keep the session on an email change', async () => {
    const { auth, seen } = setup(accepted);
    await auth.login('sam@example.com', 'right password');
    const bearer = `Bearer ${await auth.getAccessToken()}`;
    await auth.requestEmailVerification();
    await auth.changeEmail('sam@new.example', 'right password');
    await auth.confirmEmailChange('tok');
    expect(seen.map((s) => [s.path, s.body, s.authorization])).toEqual([
      ['/auth/email-verification', undefined, bearer],
      ['/auth/email', { new_email: 'sam@new.example', current_password: 'right password' }, bearer],
      ['/auth/email/confirm', { token: 'tok' }, bearer],
    ]);
  });

  it('signed out, the bearer routes throw not_authenticated without a request', async () => {
    const { auth, seen } = setup();
    for (const call of [() => auth.requestEmailVerification(), () => auth.changeEmail('a@b.io', 'pw')]) {
      await expect(call()).rejects.toMatchObject({ code: 'not_authenticated' });
    }
    expect(seen).toEqual([]);
  });

  it("throws the server's code: invalid_action_token, too_many_attempts with retryAfter", async () => {
    const error = (status: number, code: string, headers: Record<string, string> = {}) => () =>
      new Response(JSON.stringify({ detail: '…', code }), { status, headers: { 'Content-Type': 'application/json', ...headers } });
    const bad = setup(error(400, 'invalid_action_token')).auth;
    const refused = await bad.confirmPasswordReset('used', 'a brand new passphrase').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AuthError);
    expect(refused).toMatchObject({ code: 'invalid_action_token', status: 400 });
    const busy = setup(error(429, 'too_many_attempts', { 'Retry-After': '30' })).auth;
    await expect(busy.requestPasswordReset('sam@example.com')).rejects.toMatchObject({ code: 'too_many_attempts', retryAfter: 30 });
  });
});
