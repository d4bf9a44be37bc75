/**
 * HTTP to the Tollgate server: one place that sends requests, turns every failure into an
 * {@link AuthError}, and feeds each response's `Date` header to the clock-skew estimate.
 * @internal
 */
import type { Clock } from './clock.js';
import { AuthError, type AuthErrorCode, type FieldError } from './errors.js';
import type { ClockSkew } from './expiry.js';

/** What a request needs from the client. @internal */
export interface Transport {
  baseUrl: string;
  fetch: typeof globalThis.fetch;
  clock: Clock;
  skew: ClockSkew;
}

/** An HTTP `Date` header's resolution: whole seconds (RFC 9110 §5.6.7). */
const DATE_RESOLUTION_MS = 1000;

/**
 * The header every request to Tollgate carries. No form can send it, and a script on another
 * origin cannot send it without a CORS preflight, which the server grants only to the origins
 * in its `ALLOWED_ORIGINS`; with `CROSS_SITE_COOKIES` the server refuses cross-site requests to
 * its cookie routes that lack it (README, "Where the frontend lives"). @internal
 */
export const CSRF_HEADER = 'Tollgate-CSRF';

/**
 * Sends `request`; a request that gets no response becomes `network_error`, or
 * `cross_site_refused` when the browser most likely refused it for CORS (see
 * {@link unreachable}). Every response's `Date` header, with the round trip, refines the skew
 * estimate. @internal
 */
export async function send(t: Transport, request: Request): Promise<Response> {
  const sent = t.clock.now();
  let response: Response;
  try {
    response = await t.fetch(request);
  } catch (cause) {
    throw await unreachable(t, request, cause);
  }
  const date = response.headers.get('Date');
  // Cross-origin servers must list Date in Access-Control-Expose-Headers for it to be seen.
  if (date !== null) t.skew.observe(Date.parse(date), DATE_RESOLUTION_MS, sent, t.clock.now());
  return response;
}

/**
 * The error for `request`, which got no response (`fetch` rejected with `cause`).
 *
 * A browser rejects a cross-origin `fetch` whose answer CORS does not let the page read with
 * the same `TypeError` as one that never reached the server, so a misconfigured
 * `ALLOWED_ORIGINS` used to read as "could not be reached". For a cross-origin request (not an
 * abort), a `no-cors` `HEAD` of the same URL tells the two apart: it gets an (opaque) answer
 * whenever the server is up, and it sends no cookie and changes nothing. An answer means the
 * server is there and CORS refused this page: `cross_site_refused`, naming the setting that
 * fixes it. No answer, a same-origin request or an abort: `network_error`. @internal
 */
export async function unreachable(t: Pick<Transport, 'baseUrl' | 'fetch'>, request: Request, cause: unknown): Promise<AuthError> {
  const page = pageOrigin();
  const target = new URL(request.url).origin;
  const aborted = request.signal.aborted || (cause instanceof Error && cause.name === 'AbortError');
  if (page !== null && target !== page && !aborted) {
    let answered = false;
    try {
      await t.fetch(new Request(request.url, { method: 'HEAD', mode: 'no-cors', credentials: 'omit' }));
      answered = true;
    } catch {
      // Not reachable at all (offline, DNS, a Content-Security-Policy connect-src): the original verdict stands.
    }
    if (answered) {
      const fix = target === new URL(t.baseUrl).origin
        ? `add ${page} to the Tollgate server's ALLOWED_ORIGINS`
        : `let ${page} call it in that server's CORS settings`;
      return new AuthError('cross_site_refused',
        `The server at ${target} answered, but the browser did not let this page read the answer, most likely because of CORS: ${fix}.`,
        { cause });
    }
  }
  return new AuthError('network_error', 'The server could not be reached.', { cause });
}

/** The page's origin in a browser (`null` elsewhere, and for an opaque origin). */
function pageOrigin(): string | null {
  const origin = (globalThis as { location?: { origin?: unknown } }).location?.origin;
  return typeof origin === 'string' && origin !== 'null' ? origin : null;
}

/** Options for {@link call}. @internal */
export interface CallOptions {
  method?: string;
  /** A JSON body. */
  json?: unknown;
  /** A form-encoded body. */
  form?: Record<string, string>;
  /** A bearer token for the `Authorization` header. */
  token?: string | null;
}

/**
 * Builds a request to `path` on the server; cookies travel with it (the refresh cookie), and
 * so does {@link CSRF_HEADER}. @internal
 */
export function request(t: Transport, path: string, options: CallOptions = {}): Request {
  const headers = new Headers({ Accept: 'application/json', [CSRF_HEADER]: '1' });
  let body: string | URLSearchParams | undefined;
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (options.form !== undefined) {
    body = new URLSearchParams(options.form);
  }
  if (options.token) headers.set('Authorization', `Bearer ${options.token}`);
  return new Request(new URL(path, t.baseUrl), {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    credentials: 'include',
  });
}

/** Whether a successful response carries a JSON body: 202 and 204 answers do not. @internal */
export function hasBody(response: Response): boolean {
  return response.status !== 204 && response.status !== 202;
}

/**
 * Sends a request and returns its JSON body (`undefined` for 202 and 204), or throws the server's
 * error as an {@link AuthError}. @internal
 */
export async function call<T>(t: Transport, path: string, options: CallOptions = {}): Promise<T> {
  const response = await send(t, request(t, path, options));
  if (!response.ok) throw await errorFrom(t, response);
  if (!hasBody(response)) return undefined as T;
  try {
    return (await response.json()) as T;
  } catch (cause) {
    throw new AuthError('internal_error', 'The server sent a response that is not JSON.', {
      status: response.status,
      cause,
    });
  }
}

/**
 * The {@link AuthError} for a failed response: the server's `{"detail", "code", "errors"}`
 * when it sent one, otherwise a code chosen from the status. @internal
 */
export async function errorFrom(t: Transport, response: Response): Promise<AuthError> {
  let body: { detail?: unknown; code?: unknown; errors?: unknown; mfa_token?: unknown; methods?: unknown } = {};
  try {
    body = (await response.json()) ?? {};
  } catch {
    // Not JSON (a proxy's HTML page, an empty 502): fall back to the status.
  }
  const code = typeof body.code === 'string' ? (body.code as AuthErrorCode) : codeFor(response.status);
  const detail = typeof body.detail === 'string' ? body.detail : `HTTP ${response.status}`;
  const retryAfter = retryAfterSeconds(response.headers.get('Retry-After'), serverNowMs(t, response));
  const error = new AuthError(code, detail, {
    status: response.status,
    ...(retryAfter !== undefined && { retryAfter }),
    ...(Array.isArray(body.errors) && { errors: body.errors as FieldError[] }),
  });
  if (typeof body.mfa_token === 'string') {
    mfaTokens.set(error, body.mfa_token);
    Object.assign(error, { methods: Array.isArray(body.methods) ? body.methods : [] });
  }
  return error;
}

/**
 * The `mfa_token` of an `mfa_required` error, kept off the error itself so that logging the
 * error never prints it. @internal
 */
export const mfaTokens = new WeakMap<AuthError, string>();

function codeFor(status: number): AuthErrorCode {
  if (status === 401) return 'not_authenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'too_many_attempts';
  if (status === 503) return 'storage_unavailable';
  return 'internal_error';
}

/**
 * The server's time when it sent `response`, in ms since the epoch: its own `Date` header
 * when it has one (the same clock that wrote an HTTP-date `Retry-After`, so neither the local
 * clock's error nor the skew estimate's width enters), else the client's clock moved by the
 * skew estimate. Never `Date.now()`: the local clock may be minutes off, and tests inject
 * theirs. @internal
 */
export function serverNowMs(t: Transport, response: Response): number {
  const date = Date.parse(response.headers.get('Date') ?? '');
  return Number.isNaN(date) ? t.clock.now() + t.skew.offsetMs : date;
}

/**
 * `Retry-After` in seconds: delay-seconds, or an HTTP date (RFC 9110 §10.2.3) counted from
 * `serverMs`, the server's clock at the response (see {@link serverNowMs}). @internal
 */
export function retryAfterSeconds(header: string | null, serverMs: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - serverMs) / 1000));
}
