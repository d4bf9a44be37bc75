/**
 * Everything `@tollgate/client` exports, shared by its browser and Node entry points. @internal
 */
export { decodeClaims } from './claims.js';
export type { AccessClaims } from './claims.js';
export { createAuthClient } from './client.js';
export type { AuthClient, AuthClientOptions, HintStorage, Session, User } from './client.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { AuthError } from './errors.js';
export type { AuthErrorCode, FieldError } from './errors.js';
export type { AuthEvent, AuthListener, SignOutReason } from './events.js';
export { ClockSkew, isExpired, refreshDelayMs, secondsLeft } from './expiry.js';
export type { SkewRange } from './expiry.js';
