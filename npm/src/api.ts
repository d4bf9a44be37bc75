/**
 * Everything `@tollgate/client` exports, shared by its browser and Node entry points.
 *
 * Only re-exports: each export's TSDoc (with an example) sits on its declaration. This
 * comment must never carry the "internal" tag (not even quoted: the compiler looks for the
 * text): with `stripInternal` that drops the statement below it, the first export, from the
 * published types.
 *
 * @packageDocumentation
 */

export { decodeClaims } from './claims.js';
export type { AccessClaims } from './claims.js';
export { createAuthClient } from './client.js';
export type { AuthClient, AuthClientOptions, HintStorage, LinkedIdentity, Session, SignInWithOptions, TotpEnrolment, User } from './client.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { AuthError } from './errors.js';
export type { AuthErrorCode, FieldError } from './errors.js';
export type { AuthEvent, AuthListener, SignOutReason } from './events.js';
export type { Passkey } from './passkeys.js';
export type { AuthSnapshot, AuthStatus } from './store.js';
export { ClockSkew, isExpired, refreshDelayMs, secondsLeft } from './expiry.js';
export type { SkewRange } from './expiry.js';
