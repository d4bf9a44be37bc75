import { describe, expect, it } from 'vitest';
import { AuthError } from '../src/errors.js';

describe('AuthError', () => {
  it('is an Error carrying the stable code, the status and the cause', () => {
    const cause = new TypeError('fetch failed');
    const e = new AuthError('network_error', 'The server could not be reached.', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('AuthError');
    expect(e.code).toBe('network_error');
    expect(e.status).toBe(0);
    expect(e.cause).toBe(cause);
  });

  it('keeps Retry-After and per-field errors when given', () => {
    const e = new AuthError('too_many_attempts', 'Too many attempts.', { status: 429, retryAfter: 30 });
    expect(e.retryAfter).toBe(30);
    const v = new AuthError('validation_error', 'Some fields are invalid.', {
      status: 422,
      errors: [{ field: 'password', code: 'password_too_short', detail: 'The password is too short.' }],
    });
    expect(v.errors?.[0]?.code).toBe('password_too_short');
  });
});
