import { describe, expect, it } from 'vitest';
import { decodeClaims } from '../src/claims.js';
import { AuthError } from '../src/errors.js';
import { jwt } from './fakes.js';

// RFC 7515 Appendix A.1.
const RFC7515_A1 =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const seg = (text: string) => Buffer.from(text).toString('base64url');

describe('decodeClaims (the real wasm)', () => {
  it('returns the payload of RFC 7515 A.1', () => {
    expect(decodeClaims(RFC7515_A1)).toEqual({ iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true });
  });

  it('returns every claim of a Tollgate token, including non-ASCII text', () => {
    const claims = { sub: 'u1', exp: 2, iat: 1, sid: 's', role: 'user', scope: 'a b', name: 'Zoë 🚀' };
    expect(decodeClaims(jwt(claims))).toEqual(claims);
  });

  it('can decode the same token many times (the scratch buffer is reused)', () => {
    const a = jwt({ n: 'a'.repeat(3000) });
    const b = jwt({ n: 'b' });
    for (let i = 0; i < 100; i++) {
      expect(decodeClaims<{ n: string }>(a).n.length).toBe(3000);
      expect(decodeClaims(b)).toEqual({ n: 'b' });
    }
  });

  const bad: [string, string][] = [
    ['empty', ''],
    ['one segment', 'abc'],
    ['two segments', `${seg('{}')}.${seg('{}')}`],
    ['four segments', `${seg('{}')}.${seg('{}')}.c2ln.x`],
    ['empty signature (alg none)', `${seg('{}')}.${seg('{}')}.`],
    ['padding', `${seg('{}')}.${seg('{"a":1}')}=.c2ln`],
    ['standard base64 alphabet', `${seg('{}')}.${Buffer.from('{"a":"??>"}').toString('base64')}.c2ln`],
    ['non-canonical trailing bits', 'e30.Zh.c2ln'],
    ['non-ASCII', 'e30.é30.c2ln'],
    ['whitespace', ' e30.e30.c2ln'],
    ['payload not JSON', `e30.${seg('not json')}.c2ln`],
    ['payload an array', `e30.${seg('[1,2]')}.c2ln`],
    ['payload a string', `e30.${seg('"s"')}.c2ln`],
    ['payload null', `e30.${seg('null')}.c2ln`],
    ['payload not UTF-8', `e30.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.c2ln`],
    ['over 8 KiB', `e30.${seg(`{"a":"${'x'.repeat(6200)}"}`)}.c2ln`],
  ];
  it.each(bad)('throws AuthError invalid_token for %s', (_, token) => {
    let error: unknown;
    try {
      decodeClaims(token);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('invalid_token');
    expect((error as AuthError).status).toBe(0);
  });

  it('throws for values that are not strings', () => {
    expect(() => decodeClaims(42 as unknown as string)).toThrow(AuthError);
  });
});
