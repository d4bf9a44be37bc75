/**
 * Reading an access token's claims, **without verifying it**.
 *
 * The base64url decoding runs in the Rust core (the same rules as the server's first checks);
 * the JSON is parsed by the JS engine's own `JSON.parse`.
 */
import { AuthError } from './errors.js';
import { scratch, wasm } from './wasm.js';

/**
 * The claims of a Tollgate access token (RFC 9068 profile), as the server issues them.
 *
 * Decoded without verification: for display and scheduling, never for authorization.
 *
 * @example
 * ```ts
 * const claims: AccessClaims | null = auth.claims;
 * if (claims) badge.textContent = `${claims.role} · ${claims.scope.split(' ').length} scopes`;
 * ```
 */
export interface AccessClaims {
  /** Issuer (the server's `JWT_ISSUER`). */
  iss: string;
  /** Audience (the server's `JWT_AUDIENCE`). */
  aud: string | string[];
  /** Subject: the user's id. */
  sub: string;
  /** Expiry, in seconds since the Unix epoch. */
  exp: number;
  /** Issue time, in seconds since the Unix epoch. */
  iat: number;
  /** Not-before time, in seconds since the Unix epoch. */
  nbf?: number;
  /** The token's unique id. */
  jti: string;
  /** The session (refresh-token family) this token belongs to. */
  sid: string;
  /** The user's role, for example `user` or `admin`. */
  role: string;
  /** Granted scopes, space-separated (RFC 8693 §4.2). */
  scope: string;
  /** Whether the user's address was verified when the token was issued (absent in tokens minted elsewhere). */
  email_verified?: boolean;
  /** How the session signed in (RFC 8176): `['pwd']`, or `['pwd', 'otp', 'mfa']` after a TOTP code, `['pwd', 'mfa']` after a recovery code (absent in older tokens). */
  amr?: string[];
  /** Any other claim. */
  [claim: string]: unknown;
}

const utf8 = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });
const ascii = /* @__PURE__ */ new TextEncoder();

/**
 * Decodes a JWT's payload **without verifying its signature**.
 *
 * Anyone can forge a token that decodes: use the result to show who is signed in or when the
 * token expires, never to decide what a user may do. The server verifies every token it is
 * sent; that is the only check that counts.
 *
 * @param token A compact JWT (`header.payload.signature`).
 * @returns The payload object.
 * @throws {AuthError} `invalid_token` when the token is not three base64url segments whose
 *   payload is a UTF-8 JSON object (the same code the server answers with).
 *
 * @example
 * ```ts
 * import { decodeClaims } from '@tollgate/client';
 *
 * const claims = decodeClaims(accessToken); // no signature check: display only
 * greeting.textContent = `Signed in as ${claims.sub} (${claims.role})`;
 * ```
 */
export function decodeClaims<T extends object = AccessClaims>(token: string): T {
  if (typeof token !== 'string') throw invalidToken();
  const buffer = scratch();
  // base64url and dots are ASCII, one byte per UTF-16 unit: anything that does not fit, or
  // grows in UTF-8, is malformed. encodeInto is the engine's native copy.
  const { read, written } = ascii.encodeInto(token, buffer);
  if (read !== token.length || written !== read) throw invalidToken();
  const len = wasm().decodePayload(written);
  if (len < 0) throw invalidToken();
  let claims: unknown;
  try {
    claims = JSON.parse(utf8.decode(buffer.subarray(0, len)));
  } catch (cause) {
    throw invalidToken(cause);
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw invalidToken();
  return claims as T;
}

function invalidToken(cause?: unknown): AuthError {
  return new AuthError('invalid_token', 'The access token is invalid or has expired.', { cause });
}
