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

/**
 * The fake server, with an account that has TOTP on: a right password answers 403
 * mfa_required (as the real server does), `/auth/mfa/verify` takes code 123456 or recovery
 * code `abcde`, and the TOTP management routes echo what they were sent.
 */
function setup() {
  const clock = new FakeClock();
  const server = new FakeServer({ clock });
  const seen: Seen[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path === '/auth/login') {
      const form = new URLSearchParams(await request.clone().text());
      if (form.get('password') === 'right password' && form.get('username') === 'mfa@example.com') {
        return server.json(403, { detail: 'A second factor is required.', code: 'mfa_required', mfa_token: 'tok-1', methods: ['totp', 'recovery_code'] });
      }
      return server.fetch(request);
    }
    if (!path.startsWith('/auth/mfa/')) return server.fetch(request);
    const text = await request.text();
    const body = text ? JSON.parse(text) : undefined;
    seen.push({ method: request.method, path, body, authorization: request.headers.get('Authorization') });
    if (path === '/auth/mfa/verify') {
      const ok = body.mfa_token === 'tok-1' && (body.code === '123456' || body.recovery_code === 'abcde');
      if (!ok) return server.json(403, { detail: 'The code is not correct, or was already used.', code: 'invalid_code' });
      return server.json(200, { access_token: server.token(), token_type: 'bearer', expires_in: server.ttl });
    }
    if (path === '/auth/mfa/totp' && request.method === 'POST') return server.json(200, { secret: 'JBSWY3DP', otpauth_uri: 'otpauth://totp/x' });
    if (path === '/auth/mfa/totp') return server.empty(204);
    return server.json(200, { recovery_codes: ['a', 'b'] });
  };
  const auth = createAuthClient({ baseUrl: BASE, fetch, clock, storage: null });
  clients.push(auth);
  return { auth, seen };
}

describe('the second step of a login', () => {
  it('login() rejects with mfa_required, whose continue(code) signs in; a wrong code can be retried', async () => {
    const { auth, seen } = setup();
    const error = await auth.login('mfa@example.com', 'right password').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    const mfa = error as AuthError;
    expect([mfa.code, mfa.status, mfa.methods]).toEqual(['mfa_required', 403, ['totp', 'recovery_code']]);
    expect(auth.claims).toBeNull();
    // The token is not on the error, so logging it never prints it.
    expect(JSON.stringify(mfa)).not.toContain('tok-1');
    const wrong = await mfa.continue!('000000').catch((e: unknown) => e);
    expect((wrong as AuthError).code).toBe('invalid_code');
    const claims = await mfa.continue!('123456');
    expect(claims.sub).toBe('user-1');
    expect(auth.claims?.sub).toBe('user-1');
    expect(seen.map((s) => s.body)).toEqual([{ mfa_token: 'tok-1', code: '000000' }, { mfa_token: 'tok-1', code: '123456' }]);
  });

  it('continueWithRecoveryCode sends a recovery_code', async () => {
    const { auth, seen } = setup();
    const error = (await auth.login('mfa@example.com', 'right password').catch((e: unknown) => e)) as AuthError;
    await error.continueWithRecoveryCode!('abcde');
    expect(seen[0]!.body).toEqual({ mfa_token: 'tok-1', recovery_code: 'abcde' });
    expect(auth.claims).not.toBeNull();
  });

  it('other login errors carry no continuation', async () => {
    const { auth } = setup();
    const error = (await auth.login('mfa@example.com', 'wrong').catch((e: unknown) => e)) as AuthError;
    expect(error.code).toBe('invalid_credentials');
    expect(error.continue).toBeUndefined();
  });
});

describe('TOTP management', () => {
  it('sends each call with the bearer token to its route', async () => {
    const { auth, seen } = setup();
    await auth.login('sam@example.com', 'right password');
    const bearer = `Bearer ${await auth.getAccessToken()}`;
    expect(await auth.enrollTotp('pw')).toEqual({ secret: 'JBSWY3DP', otpauth_uri: 'otpauth://totp/x' });
    expect(await auth.confirmTotp('123456')).toEqual(['a', 'b']);
    expect(await auth.regenerateRecoveryCodes({ currentPassword: 'pw' })).toEqual(['a', 'b']);
    await auth.disableTotp('pw', '654321');
    expect(seen.map((s) => [s.method, s.path, s.body, s.authorization])).toEqual([
      ['POST', '/auth/mfa/totp', { current_password: 'pw' }, bearer],
      ['POST', '/auth/mfa/totp/confirm', { code: '123456' }, bearer],
      ['POST', '/auth/mfa/recovery-codes', { current_password: 'pw' }, bearer],
      ['DELETE', '/auth/mfa/totp', { current_password: 'pw', code: '654321' }, bearer],
    ]);
  });
});
