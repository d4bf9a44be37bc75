/**
 * Expiry arithmetic and clock-skew estimation, computed by the Rust core the server also uses
 * (`tollgate-core`'s `expiry` module), so client and server agree on what "expired" means.
 *
 * Claims (`exp`, `iat`) are in seconds; clocks and durations in milliseconds. Every function
 * takes the local `nowMs` *and* the clock offset `skewMs` from {@link ClockSkew}.
 */
import { core } from './wasm.js';

/**
 * Whole seconds left before `exp`, rounded down; negative once expired.
 *
 * @param exp The token's `exp` claim (seconds since the epoch).
 * @param nowMs The local clock (`Date.now()`).
 * @param skewMs The estimated `server time - local time` ({@link ClockSkew.offsetMs}).
 *
 * @example
 * ```ts
 * const left = secondsLeft(claims.exp, Date.now(), skew.offsetMs);
 * badge.textContent = `${left} s`;
 * ```
 */
export function secondsLeft(exp: number, nowMs: number, skewMs: number): number {
  return core().secondsLeft(exp, nowMs, skewMs);
}

/**
 * Whether a token expiring at `exp` counts as expired. A negative `leewayMs` gives up on it
 * that much early (so a request never carries a token that lapses in flight); a positive one
 * tolerates lateness, as the server's verifier does.
 *
 * @example
 * ```ts
 * if (isExpired(claims.exp, Date.now(), skew.offsetMs, -1000)) await auth.getAccessToken();
 * ```
 */
export function isExpired(exp: number, nowMs: number, skewMs: number, leewayMs = 0): boolean {
  return core().isExpired(exp, nowMs, skewMs, leewayMs);
}

/**
 * Milliseconds until a token should be refreshed (0: now).
 *
 * At 80 % of its lifetime, but at least 30 s before `exp`, and at half-life for lifetimes
 * under a minute; `jitter` (a random 32-bit unsigned integer) moves the moment up to 10 % of
 * the lifetime (at most a minute) earlier, so that many clients do not refresh in lock-step.
 *
 * @param iat The `iat` claim, or `undefined` to count the lifetime from now.
 *
 * @example
 * ```ts
 * const jitter = (Math.random() * 2 ** 32) >>> 0;
 * setTimeout(refresh, refreshDelayMs(claims.iat, claims.exp, Date.now(), skew.offsetMs, jitter));
 * ```
 */
export function refreshDelayMs(
  iat: number | undefined,
  exp: number,
  nowMs: number,
  skewMs: number,
  jitter = 0,
): number {
  return core().refreshDelayMs(iat, exp, nowMs, skewMs, jitter >>> 0);
}

/**
 * A range `[low, high]` for `server time - local time`, in milliseconds.
 *
 * @example
 * ```ts
 * const range: SkewRange | undefined = skew.range;
 * if (range) console.log(`the server clock is ${range.low}..${range.high} ms ahead`);
 * ```
 */
export interface SkewRange {
  /** The lower bound. */
  low: number;
  /** The upper bound. */
  high: number;
}

/**
 * An estimate of how far the local clock is from the server's, learnt from the server's
 * `Date` headers (or a fresh token's `iat`) and the round trip of each request.
 *
 * Each observation bounds the offset; bounds are intersected, so the estimate sharpens with
 * every response and restarts when the local clock is changed.
 *
 * @example
 * ```ts
 * const skew = new ClockSkew();
 * const sent = Date.now();
 * const res = await fetch('/health');
 * skew.observe(Date.parse(res.headers.get('Date')!), 1000, sent, Date.now());
 * const serverNow = Date.now() + skew.offsetMs;
 * ```
 */
export class ClockSkew {
  #range: SkewRange | undefined;

  /**
   * Records one response: the server's time `serverMs` (truncated to `resolutionMs`: 1000 for a
   * `Date` header or an `iat` claim), sent at local `sentMs`, answered at local `receivedMs`.
   */
  observe(serverMs: number, resolutionMs: number, sentMs: number, receivedMs: number): void {
    if (!Number.isFinite(serverMs)) return;
    const known = this.#range !== undefined;
    const { low, high } = this.#range ?? { low: 0, high: 0 };
    const args = [low, high, known, serverMs, resolutionMs, sentMs, receivedMs] as const;
    const nextLow = core().skewLowAfter(...args);
    if (Number.isNaN(nextLow)) return;
    this.#range = { low: nextLow, high: core().skewHighAfter(...args) };
  }

  /** Merges another estimate (for example one a tab shared over the `BroadcastChannel`). */
  merge(range: SkewRange): void {
    // A range is exactly an observation with no round trip and a resolution of its width.
    if (range.high >= range.low) this.observe(range.low, range.high - range.low, 0, 0);
  }

  /** The estimated `server time - local time` in milliseconds (0 before any observation). */
  get offsetMs(): number {
    const r = this.#range;
    return r === undefined ? 0 : core().skewOffsetMs(r.low, r.high, true);
  }

  /** The current bounds, or `undefined` before any observation. */
  get range(): SkewRange | undefined {
    return this.#range === undefined ? undefined : { ...this.#range };
  }
}
