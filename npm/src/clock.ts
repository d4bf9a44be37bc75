/**
 * Time as the client sees it: a wall clock and timers, injectable so that tests can drive a
 * fake clock (and so that scheduling never reads `Date.now()` behind the caller's back).
 */

/**
 * A wall clock with timers. The default is the system's; tests pass a fake one.
 *
 * @example
 * ```ts
 * const clock: Clock = {
 *   now: () => Date.now(),
 *   setTimeout: (run, ms) => setTimeout(run, ms),
 *   clearTimeout: (handle) => clearTimeout(handle as number),
 * };
 * const auth = createAuthClient({ baseUrl: 'https://auth.example.com', clock });
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, as the local wall clock says (it may be wrong). */
  now(): number;
  /** Runs `run` after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(run: () => void, ms: number): unknown;
  /** Cancels a timer made by {@link Clock.setTimeout}. */
  clearTimeout(handle: unknown): void;
}

/** The longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The system clock. Its timers are `unref`'d where the host supports it (Node), so a client
 * waiting to refresh never keeps a process alive.
 *
 * @example
 * ```ts
 * import { systemClock } from '@tollgate/client';
 * console.log(new Date(systemClock.now()).toISOString());
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(run, ms) {
    const handle = globalThis.setTimeout(run, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};
