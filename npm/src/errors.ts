/**
 * The one error type of `@tollgate/client`.
 *
 * Every failure is thrown as an {@link AuthError} whose `code` is the same stable code the
 * Tollgate server puts in its JSON error bodies (`{"detail", "code"}`), so one `switch` handles
 * both. `crates/core/src/error.rs` is the source of truth; a Rust test
 * (`crates/core/tests/error_codes.rs`) fails when this union and `ErrorCode::ALL` differ.
 */
import type { AccessClaims } from './claims.js';

/**
 * Every error code the server or this client can produce.
 *
 * @example
 * ```ts
 * function message(code: AuthErrorCode): string {
 *   return code === 'invalid_credentials' ? 'Wrong email or password.' : 'Something went wrong.';
 * }
 * ```
 */
export type AuthErrorCode =
  | 'not_authenticated'
  | 'invalid_credentials'
  | 'invalid_token'
  | 'invalid_refresh_token'
  | 'refresh_token_reused'
  | 'forbidden'
  | 'incorrect_password'
  | 'cross_site_refused'
  | 'account_disabled'
  | 'email_not_verified'
  | 'invalid_action_token'
  | 'not_found'
  | 'method_not_allowed'
  | 'email_taken'
  | 'last_admin'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'malformed_body'
  | 'validation_error'
  | 'missing_field'
  | 'invalid_email'
  | 'password_too_short'
  | 'password_too_long'
  | 'password_too_common'
  | 'invalid_role'
  | 'invalid_value'
  | 'too_many_attempts'
  | 'internal_error'
  | 'misconfigured'
  | 'storage_unavailable'
  | 'mfa_required'
  | 'invalid_code'
  | 'mfa_token_invalid'
  | 'totp_already_enabled'
  | 'network_error'
  | 'client_unavailable'
  | 'last_login_method'
  | 'account_exists'
  | 'access_denied'
  | 'invalid_state'
  | 'provider_error';

/**
 * One invalid field of a 422 response.
 *
 * @example
 * ```ts
 * for (const f of (error as AuthError).errors ?? []) form[f.field].setCustomValidity(f.detail);
 * ```
 */
export interface FieldError {
  /** The field's name, as sent (for example `password`). */
  field: string;
  /** What is wrong with it. */
  code: AuthErrorCode;
  /** A human sentence. */
  detail: string;
}

/**
 * An error from Tollgate: thrown by every function of this package.
 *
 * @example
 * ```ts
 * try {
 *   await auth.login('sam@example.com', 'wrong password');
 * } catch (e) {
 *   if (e instanceof AuthError && e.code === 'invalid_credentials') showLoginError(e.message);
 * }
 * ```
 */
export class AuthError extends Error {
  /** The stable code (see {@link AuthErrorCode}). */
  readonly code: AuthErrorCode;
  /** The HTTP status of the response that carried it; 0 when no response arrived. */
  readonly status: number;
  /** Seconds to wait before retrying, from `Retry-After` (429, 503), when the server sent one. */
  readonly retryAfter?: number;
  /** Per-field problems of a 422 `validation_error`. */
  readonly errors?: FieldError[];
  /** `mfa_required` (from `login()`): what the account can use for the second step (`totp`, `recovery_code`, `passkey`). */
  readonly methods?: string[];
  /**
   * `mfa_required` (from `login()`): completes the sign-in with a code from the authenticator
   * app, as `login()` would have. Rejects with `invalid_code` (403; try again, up to 5 times)
   * or `mfa_token_invalid` (401; sign in again).
   */
  continue?: (code: string) => Promise<AccessClaims>;
  /** `mfa_required`: completes the sign-in with a recovery code instead (each works once). */
  continueWithRecoveryCode?: (code: string) => Promise<AccessClaims>;
  /**
   * `mfa_required`, when `methods` has `passkey`: completes the sign-in with one of the
   * account's passkeys (`navigator.credentials.get`). Rejects like `continue`, or with the
   * browser's `DOMException` when the user cancels.
   */
  continueWithPasskey?: () => Promise<AccessClaims>;

  /** Creates an error; `message` is the server's human `detail` sentence. */
  constructor(
    code: AuthErrorCode,
    message: string,
    options: { status?: number; cause?: unknown; retryAfter?: number; errors?: FieldError[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthError';
    this.code = code;
    this.status = options.status ?? 0;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
    if (options.errors !== undefined) this.errors = options.errors;
  }
}
