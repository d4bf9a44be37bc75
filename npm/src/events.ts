/**
 * What a client tells the app through `onChange`.
 */
import type { AccessClaims } from './claims.js';
import type { AuthError } from './errors.js';

/**
 * Why a session ended on this page:
 * - `logout`: {@link AuthClient.logout} here or in another tab;
 * - `logout_all`: {@link AuthClient.logoutAll} here or in another tab;
 * - `revoked`: this session was revoked with {@link AuthClient.revokeSession};
 * - `session_ended`: the server refused the refresh (401: revoked elsewhere, expired, reused),
 *   with the server's error attached.
 *
 * @example
 * ```ts
 * const message: Record<SignOutReason, string> = {
 *   logout: 'Signed out.', logout_all: 'Signed out everywhere.',
 *   revoked: 'This session was revoked.', session_ended: 'Your session ended; please sign in again.',
 * };
 * ```
 */
export type SignOutReason = 'logout' | 'logout_all' | 'revoked' | 'session_ended';

/**
 * A change in the client's state.
 *
 * @example
 * ```ts
 * auth.onChange((event) => {
 *   if (event.type === 'signed_out') showLogin(event.reason);
 *   if (event.type === 'refresh_failed') showOfflineBanner(event.retryInMs);
 * });
 * ```
 */
export type AuthEvent =
  /** A session started on this page: login, resume, or a login in another tab. */
  | { type: 'signed_in'; claims: AccessClaims }
  /** The access token was replaced (by this tab's refresh or another tab's). */
  | { type: 'token_refreshed'; claims: AccessClaims }
  /** The session is over; sign in again. */
  | { type: 'signed_out'; reason: SignOutReason; error?: AuthError }
  /** A background refresh failed for a reason worth retrying; the session is kept. */
  | { type: 'refresh_failed'; error: AuthError; retryInMs: number };

/**
 * A listener for {@link AuthEvent}s.
 *
 * @example
 * ```ts
 * const listener: AuthListener = (event) => console.log(event.type);
 * const unsubscribe = auth.onChange(listener);
 * ```
 */
export type AuthListener = (event: AuthEvent) => void;
