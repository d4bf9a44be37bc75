/**
 * `createAuthClient`: sign-in, the in-memory access token, silent refresh and the
 * authenticated `fetch`.
 *
 * The access token lives in this object only (never in storage); the refresh token stays in
 * its HttpOnly cookie, which JavaScript cannot read. The mechanics live in their own modules:
 * `schedule` (when), `locks` and `tabs` (one refresh across tabs), `transport` (HTTP and clock
 * skew), `expiry` (the Rust core's arithmetic).
 */
import { type AccessClaims, decodeClaims } from './claims.js';
import { type Clock, systemClock } from './clock.js';
import { AuthError } from './errors.js';
import type { AuthEvent, AuthListener, SignOutReason } from './events.js';
import { ClockSkew, isExpired, refreshDelayMs } from './expiry.js';
import { withLock } from './locks.js';
import { creationOptions, credentialJson, type Json, type Passkey, requestOptions } from './passkeys.js';
import { retryDelayMs, Schedule } from './schedule.js';
import { type AuthSnapshot, isolate, Store } from './store.js';
import { openTabs, type TabMessage, type Tabs } from './tabs.js';
import { call, type CallOptions, errorFrom, hasBody, mfaTokens, request, type Transport, unreachable } from './transport.js';
import { ready } from './wasm.js';

/**
 * A token with less than this left, in milliseconds, is not sent: it could lapse in flight.
 */
export const SEND_MARGIN_MS = 1_000;

/**
 * Where the client keeps its one non-secret hint: whether this browser signed out.
 *
 * @example
 * ```ts
 * const auth = createAuthClient({ baseUrl, storage: sessionStorage }); // or null: no hint
 * ```
 */
export type HintStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/**
 * Options of {@link createAuthClient}.
 *
 * @example
 * ```ts
 * const options: AuthClientOptions = { baseUrl: 'https://auth.example.com', storage: null };
 * const auth = createAuthClient(options);
 * ```
 */
export interface AuthClientOptions {
  /** The Tollgate server's origin (and path prefix, if any), e.g. `https://auth.example.com`. */
  baseUrl: string;
  /**
   * Origins of the app's own APIs (e.g. `['https://api.example.com']`) to which
   * {@link AuthClient.fetch} also sends the access token, with the same 401 → refresh → retry
   * rule as for `baseUrl`. Each entry is exactly an origin: scheme (`https:`, or `http:` for
   * local development), host and port, nothing else. Any other origin never gets the token.
   * @throws {TypeError} from {@link createAuthClient} for an entry that is not an origin.
   */
  apiOrigins?: readonly string[];
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** The clock and timers (default: {@link systemClock}). */
  clock?: Clock;
  /**
   * Where to remember, across page loads, whether this browser signed out, so that
   * {@link AuthClient.resume} can skip a pointless request (default: `localStorage` when
   * usable; `null` for none). Never holds a token.
   */
  storage?: HintStorage | null;
}

/**
 * A user, as `POST /auth/register` returns it.
 *
 * @example
 * ```ts
 * const user: User = await auth.register('sam@example.com', 'correct horse battery staple');
 * console.log(user.id, user.role);
 * ```
 */
export interface User {
  /** The user's id (the `sub` of their tokens). */
  id: string;
  /** The email address, normalised by the server. */
  email: string;
  /** The role, for example `user`. */
  role: string;
}

/**
 * One signed-in session (a refresh-token family), as `GET /auth/sessions` lists it.
 *
 * @example
 * ```ts
 * for (const s of await auth.sessions()) if (!s.current) await auth.revokeSession(s.id);
 * ```
 */
export interface Session {
  /** The session's id, for {@link AuthClient.revokeSession}. */
  id: string;
  /** When it was signed in (RFC 3339, UTC). */
  created_at: string;
  /** When its refresh token was last used (RFC 3339, UTC). */
  last_used_at: string;
  /** The `User-Agent` that signed in. */
  user_agent: string;
  /** Whether it is the session of the request that listed it. */
  current: boolean;
}

/**
 * A TOTP secret being enrolled (`POST /auth/mfa/totp`): show `otpauth_uri` as a QR code, and
 * `secret` for typing; nothing is on until {@link AuthClient.confirmTotp}.
 *
 * @example
 * ```ts
 * const { secret, otpauth_uri } = await auth.enrollTotp(currentPassword);
 * showQrCode(otpauth_uri); // any QR library
 * const recoveryCodes = await auth.confirmTotp(prompt(`Code from the app (or type ${secret})`) ?? '');
 * ```
 */
export interface TotpEnrolment {
  /** The secret in base32, for typing into an app. */
  secret: string;
  /** The `otpauth://totp/…` URI, for a QR code. */
  otpauth_uri: string;
}

/**
 * An identity at a provider ("Sign in with ...") linked to the account.
 *
 * @example
 * ```ts
 * for (const { provider, email } of await auth.identities()) list.append(`${provider}: ${email ?? ''}`);
 * ```
 */
export interface LinkedIdentity {
  /** The provider's name in the server's `OAUTH_PROVIDERS`. */
  provider: string;
  /** The provider's stable id for the user (its `sub`). */
  subject: string;
  /** The email the provider gave when it was linked, if any. */
  email?: string;
  /** When it was linked (seconds since the epoch). */
  linked_at: number;
}

/**
 * Where the browser comes back to after a provider's sign-in.
 *
 * @example
 * ```ts
 * const options: SignInWithOptions = { redirectTo: `${location.origin}/welcome` };
 * auth.signInWith('google', options);
 * ```
 */
export interface SignInWithOptions {
  /**
   * An absolute URL on the server's `APP_URL` origin or one of its `ALLOWED_ORIGINS`
   * (anything else is refused with 422): the page whose {@link AuthClient.resume} picks the
   * session up. A failure comes back there as `#error=<code>`. Default: this page.
   */
  redirectTo?: string;
}

/** The server's token response (RFC 6749 §5.1). @internal */
interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

/**
 * A Tollgate client: see {@link createAuthClient}.
 *
 * Every method rejects with `client_unavailable`, before any request, when the package's
 * WebAssembly module could not be compiled (a Content-Security-Policy without
 * `'wasm-unsafe-eval'`); the app keeps running and can say so.
 *
 * @example
 * ```ts
 * const auth: AuthClient = createAuthClient({ baseUrl: location.origin });
 * const token = await auth.getAccessToken(); // null when signed out
 * ```
 */
export interface AuthClient {
  /**
   * Creates an account. Does not sign in: call {@link AuthClient.login} next.
   * @throws {AuthError} `email_taken` (409), `validation_error` (422, with `errors`), `network_error`.
   */
  register(email: string, password: string): Promise<User>;
  /**
   * Signs in with the OAuth 2 password flow (form-encoded `username`, `password`); the server
   * sets the refresh cookie. Other tabs of the origin are signed in too.
   * @throws {AuthError} `invalid_credentials` (401), `account_disabled` (403: the right password, but an admin disabled the account), `too_many_attempts` (429, with `retryAfter`), `network_error`;
   * `mfa_required` (403: the right password for an account with a second factor), whose `continue(code)`, `continueWithRecoveryCode(code)` or `continueWithPasskey()` completes the sign-in.
   * @example
   * ```ts
   * try {
   *   await auth.login(email, password);
   * } catch (e) {
   *   if (!(e instanceof AuthError) || e.code !== 'mfa_required') throw e;
   *   await e.continue!(prompt('Code from your authenticator app') ?? '');
   * }
   * ```
   */
  login(email: string, password: string): Promise<AccessClaims>;
  /**
   * Picks up the session of an earlier page load: one refresh with the cookie. Resolves to the
   * claims, or `null` when there is no session to resume.
   * @throws {AuthError} `network_error`, or a 5xx code: the session may still exist; try again later.
   */
  resume(): Promise<AccessClaims | null>;
  /** Ends this session on the server and in every tab. Local state is cleared even if the server cannot be reached (then it throws `network_error`). */
  logout(): Promise<void>;
  /** Ends every session of the user, on every device. @throws {AuthError} `not_authenticated`, `network_error`. */
  logoutAll(): Promise<void>;
  /**
   * The access token, refreshed first if its refresh moment has passed; `null` when signed out.
   * While the server cannot be reached a still-valid token is returned as is.
   * @throws {AuthError} `network_error` (or a 5xx or 429 code) when a refresh was needed, failed, and the token has expired.
   */
  getAccessToken(): Promise<string | null>;
  /** The current token's claims, decoded **without verification** (display only); `null` when signed out. */
  readonly claims: AccessClaims | null;
  /** When the next silent refresh is planned (local clock, ms since the epoch); `null` if none is. */
  readonly nextRefreshAt: number | null;
  /**
   * The estimated `server time - local time` in milliseconds (0 until a response was seen):
   * pass it as `skewMs` to {@link secondsLeft} to show time left as the server counts it.
   */
  readonly clockOffsetMs: number;
  /**
   * A drop-in `fetch` that adds `Authorization: Bearer` to requests for the server's origin
   * and the {@link AuthClientOptions.apiOrigins} (relative URLs resolve against `baseUrl`;
   * every other origin gets no token). For those origins, a 401 refreshes once (one refresh
   * shared by every request that hit the 401) and retries once.
   * @throws {AuthError} `network_error` where `fetch` would reject.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Lists the user's sessions. @throws {AuthError} `not_authenticated`, `network_error`. */
  sessions(): Promise<Session[]>;
  /** Revokes one session (this one included: that signs this page out). @throws {AuthError} `not_found`, `not_authenticated`, `network_error`. */
  revokeSession(id: string): Promise<void>;
  /**
   * Asks for a password-reset message to `email`. Resolves the same way whether the address
   * has an account or not (the server answers 202 either way); the message goes to the
   * server's mailer, whose link opens your app's `APP_URL` page with `#token=…`.
   * @example
   * ```ts
   * await auth.requestPasswordReset(form.email.value);
   * show('If that address has an account, a reset link is on its way.');
   * ```
   * @throws {AuthError} `too_many_attempts` (429, with `retryAfter`), `misconfigured` (503: the server has no mailer), `network_error`.
   */
  requestPasswordReset(email: string): Promise<void>;
  /**
   * Sets a new password with the token from a reset link. Every session of the account ends
   * (this page's too): sign in again with the new password.
   * @example
   * ```ts
   * const token = new URLSearchParams(location.hash.slice(1)).get('token');
   * await auth.confirmPasswordReset(token, newPassword);
   * await auth.login(email, newPassword);
   * ```
   * @throws {AuthError} `invalid_action_token` (400: used, expired or altered), `validation_error` (422, field `new_password`), `network_error`.
   */
  confirmPasswordReset(token: string, newPassword: string): Promise<void>;
  /**
   * Sends a verification message to the signed-in user's address (nothing if it is verified
   * already). Registration sends the first one by itself.
   * @example
   * ```ts
   * if (auth.claims?.email_verified === false) await auth.requestEmailVerification();
   * ```
   * @throws {AuthError} `not_authenticated`, `too_many_attempts` (429), `misconfigured` (503), `network_error`.
   */
  requestEmailVerification(): Promise<void>;
  /**
   * Marks the address verified with the token from a verification link. Tokens issued from
   * then on carry `email_verified: true`.
   * @example
   * ```ts
   * await auth.confirmEmail(new URLSearchParams(location.hash.slice(1)).get('token') ?? '');
   * ```
   * @throws {AuthError} `invalid_action_token` (400), `network_error`.
   */
  confirmEmail(token: string): Promise<void>;
  /**
   * Asks to move the signed-in account to `newEmail`: a confirmation link goes to the new
   * address, a notice to the old one. Nothing changes until the link is followed.
   * @example
   * ```ts
   * await auth.changeEmail('sam@new.example', currentPassword);
   * ```
   * @throws {AuthError} `incorrect_password` (403), `email_taken` (409), `validation_error` (422, field `new_email`), `too_many_attempts` (429), `not_authenticated`, `network_error`.
   */
  changeEmail(newEmail: string, currentPassword: string): Promise<void>;
  /**
   * Completes an address change with the token from the link sent to the new address. Every
   * other session ends; when this page is signed in as the same user, its session goes on.
   * @example
   * ```ts
   * await auth.confirmEmailChange(new URLSearchParams(location.hash.slice(1)).get('token') ?? '');
   * ```
   * @throws {AuthError} `invalid_action_token` (400), `email_taken` (409: someone took the address meanwhile), `network_error`.
   */
  confirmEmailChange(token: string): Promise<void>;
  /**
   * Starts TOTP enrolment: a new secret for an authenticator app (show `otpauth_uri` as a QR
   * code), inactive until {@link AuthClient.confirmTotp}.
   * @throws {AuthError} `incorrect_password` (403), `totp_already_enabled` (409), `too_many_attempts` (429), `not_authenticated`, `network_error`.
   */
  enrollTotp(currentPassword: string): Promise<TotpEnrolment>;
  /**
   * Turns TOTP on with a code from the app; resolves to the 10 recovery codes, shown only now.
   * @throws {AuthError} `invalid_code` (403), `not_found` (404: no enrolment started), `too_many_attempts` (429), `network_error`.
   */
  confirmTotp(code: string): Promise<string[]>;
  /** Turns TOTP off (the recovery codes go too). @throws {AuthError} `incorrect_password`, `invalid_code` (403), `not_found` (404), `network_error`. */
  disableTotp(currentPassword: string, code: string): Promise<void>;
  /**
   * Replaces the recovery codes with a new set (resolved, to show once), proved by the password
   * or a current code. @throws {AuthError} `incorrect_password`, `invalid_code` (403), `not_found` (404: TOTP is off), `network_error`.
   */
  regenerateRecoveryCodes(proof: { currentPassword?: string; code?: string }): Promise<string[]>;
  /**
   * Adds a passkey to the signed-in account: the browser asks the user to create one
   * (`navigator.credentials.create`), and the server checks and stores it.
   * @example
   * ```ts
   * const passkey = await auth.registerPasskey();
   * ```
   * @throws {AuthError} `validation_error` (422: the server refused the credential), `not_authenticated`, `misconfigured` (503: no `WEBAUTHN_RP_ID`), `network_error`; the browser's `DOMException` (`NotAllowedError` when the user cancels, `InvalidStateError` when this authenticator already holds one).
   */
  registerPasskey(): Promise<Passkey>;
  /**
   * Signs in with a passkey, no email or password: the browser offers the passkeys it holds
   * for this site (`navigator.credentials.get`); the server sets the refresh cookie, as
   * {@link AuthClient.login} does.
   * @example
   * ```ts
   * await auth.loginWithPasskey();
   * ```
   * @throws {AuthError} `invalid_credentials` (401), `account_disabled` (403), `misconfigured` (503), `network_error`; the browser's `DOMException` (`NotAllowedError` when the user cancels or has none).
   */
  loginWithPasskey(): Promise<AccessClaims>;
  /** The signed-in account's passkeys. @throws {AuthError} `not_authenticated`, `network_error`. */
  passkeys(): Promise<Passkey[]>;
  /**
   * Removes a passkey.
   * @throws {AuthError} `last_login_method` (409: the account has no password and no other passkey), `not_found`, `not_authenticated`, `network_error`.
   */
  removePasskey(id: string): Promise<void>;
  /**
   * Signs in with an identity provider of the server's `OAUTH_PROVIDERS`: sends the browser to
   * `/auth/oauth/{provider}/start`, from there to the provider and back to `redirectTo`, where
   * {@link AuthClient.resume} picks the session up. A refused sign-in comes back with
   * `#error=<code>` (`access_denied`, `account_exists`, `invalid_state`, `provider_error`, ...).
   * @example
   * ```ts
   * button.onclick = () => auth.signInWith('google', { redirectTo: location.origin + '/' });
   * // on the page it comes back to:
   * const error = new URLSearchParams(location.hash.slice(1)).get('error');
   * if (!error) await auth.resume();
   * ```
   */
  signInWith(provider: string, options?: SignInWithOptions): void;
  /**
   * The signed-in user's linked identities.
   * @throws {AuthError} `not_authenticated`, `misconfigured` (503: `OAUTH_PROVIDERS` is unusable), `network_error`.
   */
  identities(): Promise<LinkedIdentity[]>;
  /**
   * Links a provider's identity to the signed-in account: asks the server for a one-time start
   * URL and sends the browser there; it comes back to `redirectTo` with `#linked=<provider>`
   * (or `#error=account_exists` when the identity belongs to another account).
   * @example
   * ```ts
   * await auth.linkIdentity('github', { redirectTo: location.href });
   * ```
   * @throws {AuthError} `not_found` (no such provider), `validation_error` (422: `redirectTo` not allowed), `not_authenticated`, `network_error`.
   */
  linkIdentity(provider: string, options?: SignInWithOptions): Promise<void>;
  /**
   * Unlinks the account's identity at `provider`.
   * @throws {AuthError} `last_login_method` (409: it is the account's last way to sign in), `not_found`, `not_authenticated`, `network_error`.
   */
  unlinkIdentity(provider: string): Promise<void>;
  /** Calls `listener` on every {@link AuthEvent}; returns the function that unsubscribes it. */
  onChange(listener: AuthListener): () => void;
  /**
   * Calls `listener` (no arguments) whenever {@link AuthClient.getSnapshot} changes; returns
   * the function that unsubscribes it. Bound: may be passed on as a plain function, as to
   * React's `useSyncExternalStore(auth.subscribe, auth.getSnapshot)`.
   */
  subscribe(listener: () => void): () => void;
  /** The session as one immutable {@link AuthSnapshot}, the same object until it changes. Bound, like {@link AuthClient.subscribe}. */
  getSnapshot(): AuthSnapshot;
  /** Stops timers, listeners and the tab channel (for tests and single-page-app teardown). */
  close(): void;
}

/**
 * Creates a client for the Tollgate server at `baseUrl`.
 *
 * @example
 * ```ts
 * import { createAuthClient } from '@tollgate/client';
 *
 * const auth = createAuthClient({ baseUrl: location.origin });
 * auth.onChange((event) => render(event));
 * await auth.resume();                      // signed in from an earlier visit?
 * if (!auth.claims) await auth.login('sam@example.com', 'correct horse battery staple');
 * const me = await (await auth.fetch('/me')).json();
 * ```
 */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new Client(options);
}

const HINT_SIGNED_OUT = 'signed_out';

/** The events a new access token produces. */
type TokenEvent = 'signed_in' | 'token_refreshed';

class Client implements AuthClient {
  readonly #t: Transport;
  /** Where `fetch` sends the token: the server's origin and the listed API origins. */
  readonly #tokenOrigins: ReadonlySet<string>;
  readonly #storage: HintStorage | null;
  readonly #schedule: Schedule;
  readonly #tabs: Tabs;
  readonly #listeners = new Set<AuthListener>();
  readonly #store = new Store();
  #token: string | null = null;
  #claims: AccessClaims | null = null;
  #jitter = 0;
  #inflight: Promise<string> | undefined;
  #failures = 0;
  #notBefore = 0;
  #closed = false;

  constructor(options: AuthClientOptions) {
    const baseUrl = new URL(options.baseUrl).href;
    this.#tokenOrigins = new Set([new URL(baseUrl).origin, ...(options.apiOrigins ?? []).map(apiOrigin)]);
    const fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#t = { baseUrl, fetch, clock: options.clock ?? systemClock, skew: new ClockSkew() };
    this.#storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.#schedule = new Schedule(this.#t.clock, () => this.#refreshInBackground(), () => this.#recheck());
    this.#tabs = openTabs(`tollgate:${baseUrl}`, (message) => this.#receive(message));
  }

  get claims(): AccessClaims | null {
    return this.#claims;
  }

  get nextRefreshAt(): number | null {
    return this.#schedule.dueAt ?? null;
  }

  get clockOffsetMs(): number {
    return this.#t.skew.offsetMs;
  }

  async register(email: string, password: string): Promise<User> {
    ready();
    return call<User>(this.#t, '/auth/register', { json: { email, password } });
  }

  async login(email: string, password: string): Promise<AccessClaims> {
    ready();
    const form = { grant_type: 'password', username: email, password };
    return this.#signIn('/auth/login', { form });
  }

  async loginWithPasskey(): Promise<AccessClaims> {
    ready();
    const options = await call<Json>(this.#t, '/auth/passkeys/login/options', { method: 'POST' });
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    return this.#signIn('/auth/passkeys/login', { json: credentialJson(credential as Json) });
  }

  async registerPasskey(): Promise<Passkey> {
    ready();
    const options = await this.#authorized<Json>('/auth/passkeys/register/options', { method: 'POST' });
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    return this.#authorized<Passkey>('/auth/passkeys/register', { json: credentialJson(credential as Json) });
  }

  async passkeys(): Promise<Passkey[]> {
    ready();
    return (await this.#authorized<{ passkeys: Passkey[] }>('/auth/passkeys')).passkeys;
  }

  async removePasskey(id: string): Promise<void> {
    ready();
    await this.#authorized(`/auth/passkeys/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  /** Signs in with the token response of `path`; an `mfa_required` error learns how to continue. */
  async #signIn(path: string, options: CallOptions): Promise<AccessClaims> {
    const sentAt = this.#t.clock.now();
    let body: TokenResponse;
    try {
      body = await call<TokenResponse>(this.#t, path, options);
    } catch (error) {
      const mfaToken = error instanceof AuthError ? mfaTokens.get(error) : undefined;
      if (mfaToken !== undefined) {
        const via = (field: string) => (code: string) => this.#signIn('/auth/mfa/verify', { json: { mfa_token: mfaToken, [field]: code } });
        const withPasskey = async () => {
          const options = await call<Json>(this.#t, '/auth/passkeys/login/options', { json: { mfa_token: mfaToken } });
          const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
          return this.#signIn('/auth/mfa/verify', { json: { mfa_token: mfaToken, passkey: credentialJson(credential as Json) } });
        };
        Object.assign(error as AuthError, { continue: via('code'), continueWithRecoveryCode: via('recovery_code'), continueWithPasskey: withPasskey });
      }
      throw error;
    }
    const { claims, event } = this.#accept(body.access_token, null, sentAt);
    this.#tabs.post({ type: 'token', event, token: body.access_token, skew: this.#t.skew.range });
    return claims;
  }

  async enrollTotp(currentPassword: string): Promise<TotpEnrolment> {
    ready();
    return this.#authorized<TotpEnrolment>('/auth/mfa/totp', { json: { current_password: currentPassword } });
  }

  async confirmTotp(code: string): Promise<string[]> {
    ready();
    return (await this.#authorized<{ recovery_codes: string[] }>('/auth/mfa/totp/confirm', { json: { code } })).recovery_codes;
  }

  async disableTotp(currentPassword: string, code: string): Promise<void> {
    ready();
    await this.#authorized('/auth/mfa/totp', { method: 'DELETE', json: { current_password: currentPassword, code } });
  }

  async regenerateRecoveryCodes(proof: { currentPassword?: string; code?: string }): Promise<string[]> {
    ready();
    const json = { current_password: proof.currentPassword, code: proof.code };
    return (await this.#authorized<{ recovery_codes: string[] }>('/auth/mfa/recovery-codes', { json })).recovery_codes;
  }

  async resume(): Promise<AccessClaims | null> {
    ready();
    try {
      if (this.#token === null && this.#hint() === HINT_SIGNED_OUT) return null;
      try {
        await this.#refresh();
      } catch (error) {
        if (error instanceof AuthError && error.status === 401) return null;
        throw error;
      }
      return this.#claims;
    } finally {
      // Settled: whatever did not find a session leaves `loading` for `signed_out`.
      if (this.#store.snapshot.status === 'loading') this.#store.set('signed_out', null, null);
    }
  }

  async logout(): Promise<void> {
    ready();
    let failure: unknown;
    try {
      await call(this.#t, '/auth/logout', { method: 'POST' });
    } catch (error) {
      failure = error;
    }
    this.#signOut('logout');
    if (failure !== undefined && !(failure instanceof AuthError && failure.status === 401)) throw failure;
  }

  async logoutAll(): Promise<void> {
    ready();
    await this.#authorized('/auth/logout-all', { method: 'POST' });
    this.#signOut('logout_all');
  }

  async getAccessToken(): Promise<string | null> {
    ready();
    if (this.#inflight !== undefined) await this.#inflight.catch(() => undefined);
    const token = this.#token;
    const claims = this.#claims;
    if (token === null || claims === null || !this.#isDue(claims)) return token;
    const now = this.#t.clock.now();
    const usable = !isExpired(claims.exp, now, this.#t.skew.offsetMs, -SEND_MARGIN_MS);
    // Inside a 429's Retry-After the server asked not to be asked; use the token while it lasts.
    if (usable && now < this.#notBefore) return token;
    try {
      return await this.#refresh();
    } catch (error) {
      if (this.#token === null) return null; // the refresh ended the session (signed_out was sent)
      if (usable) return token;
      throw error;
    }
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    ready();
    const original = new Request(input instanceof Request ? input : new URL(String(input), this.#t.baseUrl), init);
    const ours = this.#tokenOrigins.has(new URL(original.url).origin);
    // Only for Tollgate and the app's own APIs is a failure looked into (a probe request);
    // other origins are the app's business.
    const send = (r: Request): Promise<Response> =>
      this.#t.fetch(r).catch(async (cause: unknown) => {
        throw ours ? await unreachable(this.#t, r, cause) : new AuthError('network_error', 'The server could not be reached.', { cause });
      });
    if (!ours) return send(original);
    const token = await this.getAccessToken();
    const first = await send(withBearer(original.clone(), token));
    if (first.status !== 401 || token === null) return first;
    let fresh: string;
    try {
      // Another request's refresh may already have replaced the token this one was sent with.
      fresh = this.#token !== null && this.#token !== token ? this.#token : await this.#refresh();
    } catch {
      return first;
    }
    return send(withBearer(original, fresh));
  }

  async sessions(): Promise<Session[]> {
    ready();
    const body = await this.#authorized<{ sessions: Session[] }>('/auth/sessions');
    return body.sessions;
  }

  async revokeSession(id: string): Promise<void> {
    ready();
    await this.#authorized(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (this.#claims?.sid === id) this.#signOut('revoked');
  }

  async requestPasswordReset(email: string): Promise<void> {
    ready();
    await call(this.#t, '/auth/password-reset', { json: { email } });
  }

  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    ready();
    await call(this.#t, '/auth/password-reset/confirm', { json: { token, new_password: newPassword } });
  }

  async requestEmailVerification(): Promise<void> {
    ready();
    await this.#authorized('/auth/email-verification', { method: 'POST' });
  }

  async confirmEmail(token: string): Promise<void> {
    ready();
    await call(this.#t, '/auth/email-verification/confirm', { json: { token } });
  }

  async changeEmail(newEmail: string, currentPassword: string): Promise<void> {
    ready();
    await this.#authorized('/auth/email', { json: { new_email: newEmail, current_password: currentPassword } });
  }

  async confirmEmailChange(token: string): Promise<void> {
    ready();
    // Signed in, the bearer token keeps this session; signed out, the link works all the same.
    const bearer = await this.getAccessToken().catch(() => null);
    await call(this.#t, '/auth/email/confirm', { json: { token }, token: bearer });
  }

  signInWith(provider: string, options: SignInWithOptions = {}): void {
    ready();
    const redirectTo = options.redirectTo ?? currentPage();
    const url = new URL(`/auth/oauth/${encodeURIComponent(provider)}/start`, this.#t.baseUrl);
    url.searchParams.set('redirect_to', redirectTo);
    // The page this comes back to must try the cookie the callback sets: a "signed out" hint
    // left from this page would make its resume() skip the refresh.
    this.#setHint(null);
    navigate(url.toString());
  }

  async identities(): Promise<LinkedIdentity[]> {
    ready();
    const body = await this.#authorized<{ identities: LinkedIdentity[] }>('/auth/identities');
    return body.identities;
  }

  async linkIdentity(provider: string, options: SignInWithOptions = {}): Promise<void> {
    ready();
    const query = new URLSearchParams({ redirect_to: options.redirectTo ?? currentPage() });
    const body = await this.#authorized<{ url: string }>(`/auth/identities/${encodeURIComponent(provider)}/link?${query}`, { method: 'POST' });
    navigate(body.url);
  }

  async unlinkIdentity(provider: string): Promise<void> {
    ready();
    await this.#authorized(`/auth/identities/${encodeURIComponent(provider)}`, { method: 'DELETE' });
  }

  readonly subscribe = (listener: () => void): (() => void) => (this.#closed ? () => undefined : this.#store.subscribe(listener));

  readonly getSnapshot = (): AuthSnapshot => this.#store.snapshot;

  onChange(listener: AuthListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  close(): void {
    this.#closed = true;
    this.#schedule.stop();
    this.#tabs.close();
    this.#listeners.clear();
    this.#store.clear();
  }

  // --- the session --------------------------------------------------------------------

  /**
   * Takes a new access token: decode, learn the clock from its `iat`, plan its refresh. It
   * renews the session of `previous` when it is for the same `sid` (`token_refreshed`), and
   * otherwise starts one (`signed_in`); returns which, with the claims.
   */
  #accept(token: string, previous: AccessClaims | null, sentAt?: number): { claims: AccessClaims; event: TokenEvent } {
    const claims = decodeClaims(token);
    const event: TokenEvent = previous !== null && previous.sid === claims.sid ? 'token_refreshed' : 'signed_in';
    if (sentAt !== undefined && typeof claims.iat === 'number') {
      // `iat` is the server's clock at issue, in whole seconds, read during this request.
      this.#t.skew.observe(claims.iat * 1000, 1000, sentAt, this.#t.clock.now());
    }
    this.#token = token;
    this.#claims = claims;
    this.#jitter = (Math.random() * 2 ** 32) >>> 0;
    this.#failures = 0;
    this.#notBefore = 0;
    this.#setHint(null);
    if (!this.#closed) {
      this.#schedule.watch();
      this.#plan();
    }
    this.#store.set('signed_in', claims, token);
    this.#emit({ type: event, claims });
    return { claims, event };
  }

  #signOut(reason: SignOutReason, error?: AuthError, tell = true): void {
    const claims = this.#claims;
    this.#token = null;
    this.#claims = null;
    this.#schedule.stop();
    this.#setHint(HINT_SIGNED_OUT);
    this.#store.set('signed_out', null, null);
    if (claims === null) return; // nothing ended here: a resume found no session
    // Other tabs end the same session only (a newer login there must survive).
    if (tell) this.#tabs.post({ type: 'signed_out', sid: claims.sid, reason });
    this.#emit(error === undefined ? { type: 'signed_out', reason } : { type: 'signed_out', reason, error });
  }

  /** Whether the token's refresh moment (without this tab's jitter) has passed, by the server's clock. */
  #isDue(claims: AccessClaims): boolean {
    return refreshDelayMs(claims.iat, claims.exp, this.#t.clock.now(), this.#t.skew.offsetMs, 0) === 0;
  }

  #plan(): void {
    const c = this.#claims;
    if (c === null) return;
    this.#schedule.at(refreshDelayMs(c.iat, c.exp, this.#t.clock.now(), this.#t.skew.offsetMs, this.#jitter));
  }

  /** After a wake-up, a return to the page, or the network coming back. */
  #recheck(): void {
    if (this.#closed || this.#claims === null) return;
    if (this.#isDue(this.#claims)) this.#refreshInBackground();
    else this.#plan();
  }

  #refreshInBackground(): void {
    if (this.#closed || this.#token === null) return;
    const wait = this.#notBefore - this.#t.clock.now();
    if (wait > 0) return this.#schedule.at(wait);
    this.#refresh().catch(() => undefined); // reported through onChange by #failed
  }

  /** A refresh failed without ending the session: back off, retry in the background, tell the app. */
  #failed(error: unknown): void {
    if (this.#token === null || this.#closed) return;
    const failure = error instanceof AuthError ? error : new AuthError('internal_error', String(error), { cause: error });
    const retryInMs = retryDelayMs(this.#failures++, failure.retryAfter);
    if (failure.retryAfter !== undefined) this.#notBefore = this.#t.clock.now() + failure.retryAfter * 1000;
    this.#schedule.at(retryInMs);
    this.#emit({ type: 'refresh_failed', error: failure, retryInMs });
  }

  /** One refresh at a time in this page (single flight), and across tabs (the lock). */
  #refresh(): Promise<string> {
    this.#inflight ??= this.#refreshUnderLock().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #refreshUnderLock(): Promise<string> {
    const seen = this.#token;
    return withLock(`tollgate:refresh:${this.#t.baseUrl}`, async () => {
      // While this tab waited, another may have refreshed and sent us its token.
      if (this.#token !== null && this.#token !== seen && this.#claims !== null && !this.#isDue(this.#claims)) {
        return this.#token;
      }
      const sentAt = this.#t.clock.now();
      let body: TokenResponse;
      try {
        body = await call<TokenResponse>(this.#t, '/auth/refresh', { method: 'POST' });
      } catch (error) {
        // Only the server saying no ends a session; network errors, 5xx and 429 keep it.
        if (error instanceof AuthError && error.status === 401) this.#signOut('session_ended', error);
        else this.#failed(error);
        throw error;
      }
      // The cookie is the browser's, not this tab's: a login elsewhere may have replaced it,
      // and then the answer starts another session rather than renewing this tab's.
      const { event } = this.#accept(body.access_token, seen !== null ? this.#claims : null, sentAt);
      this.#tabs.post({ type: 'token', event, token: body.access_token, skew: this.#t.skew.range });
      return body.access_token;
    }, this.#t.clock);
  }

  #receive(message: TabMessage): void {
    if (this.#closed) return;
    if (message.type === 'signed_out') {
      if (this.#claims !== null && message.sid === this.#claims.sid) {
        this.#signOut(message.reason, undefined, false);
      }
      return;
    }
    if (message.token === this.#token) return;
    let claims: AccessClaims;
    try {
      claims = decodeClaims(message.token);
    } catch {
      return;
    }
    const current = this.#claims;
    // Any script of the origin can post here. A tab with a session takes only newer tokens of
    // that session: a token for another one would silently swap the account it acts as. A
    // tab without one takes another tab's sign-in, never a "refresh" of a session it does
    // not hold (which is also how a late refresh cannot revive a session that just ended).
    if (current !== null ? claims.sid !== current.sid || claims.exp < current.exp : message.event !== 'signed_in') return;
    // Only what the tab believes may teach it about the clock.
    if (message.skew !== undefined) this.#t.skew.merge(message.skew);
    this.#accept(message.token, current);
  }

  /** A bearer request through {@link fetch} (so with its 401 retry), returning the JSON body. */
  async #authorized<T = undefined>(path: string, options: CallOptions = {}): Promise<T> {
    if ((await this.getAccessToken()) === null) {
      throw new AuthError('not_authenticated', 'Not authenticated.', { status: 401 });
    }
    const response = await this.fetch(request(this.#t, path, options));
    if (!response.ok) throw await errorFrom(this.#t, response);
    return (hasBody(response) ? await response.json() : undefined) as T;
  }

  #emit(event: AuthEvent): void {
    // A listener's bug must not break the client: it is reported where uncaught errors go.
    for (const listener of [...this.#listeners]) isolate(() => listener(event));
  }

  #hint(): string | null {
    try {
      return this.#storage?.getItem(`tollgate:${this.#t.baseUrl}`) ?? null;
    } catch {
      return null;
    }
  }

  #setHint(value: string | null): void {
    try {
      const key = `tollgate:${this.#t.baseUrl}`;
      if (value === null) this.#storage?.removeItem(key);
      else this.#storage?.setItem(key, value);
    } catch {
      // Storage full or forbidden: the hint is only an optimisation.
    }
  }
}

/**
 * The origin an `apiOrigins` entry names, normalised (`HTTPS://API.example.com:443/` is
 * `https://api.example.com`). Anything more or less than an origin is refused, so that a
 * path, a wildcard or a typo cannot silently widen or narrow where the token goes.
 */
function apiOrigin(entry: string): string {
  let url: URL | undefined;
  try {
    url = new URL(entry);
  } catch {
    // not a URL at all: refused below
  }
  const bare = url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password
    && url.pathname === '/' && !url.search && !url.hash && !url.hostname.includes('*');
  if (!bare) {
    throw new TypeError(`apiOrigins: ${JSON.stringify(entry)} is not an origin; give scheme, host and port only, e.g. "https://api.example.com".`);
  }
  return url!.origin;
}

function withBearer(request: Request, token: string | null): Request {
  if (token === null) return request;
  const headers = new Headers(request.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return new Request(request, { headers });
}

function defaultStorage(): HintStorage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // sandboxed iframes throw on access
  }
}

/** This page's URL without its fragment: where a provider's sign-in comes back by default. */
function currentPage(): string {
  const here = globalThis.location?.href;
  if (here === undefined) throw new AuthError('validation_error', 'signInWith needs options.redirectTo outside a browser page.');
  return here.split('#')[0];
}

/** Sends the browser to `url` (a provider's sign-in is a full-page navigation, not a fetch). */
function navigate(url: string): void {
  globalThis.location.assign(url);
}
