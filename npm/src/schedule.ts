/**
 * When to look at the token again: one timer at the computed refresh moment, plus the moments
 * a timer cannot be trusted: the page becoming visible, the network coming back, the window
 * regaining focus, and the machine waking from sleep (browsers pause or throttle timers in
 * all of these, so a refresh due during them fires late or not at all).
 */
import type { Clock } from './clock.js';

/**
 * How often to look for a wall-clock jump, in milliseconds. A tick that arrives much later
 * than this means timers were suspended (sleep, a frozen tab); 5 s keeps that detection well
 * inside even a 4-second token's lifetime at negligible cost (one timer, no I/O).
 */
export const WAKE_CHECK_INTERVAL_MS = 5_000;

/** How much later than {@link WAKE_CHECK_INTERVAL_MS} a tick may come before it counts as a wake-up. */
export const WAKE_THRESHOLD_MS = 5_000;

/** Browser events after which timers may have been late. @internal */
const WINDOW_EVENTS = ['online', 'focus', 'pageshow'] as const;

/**
 * The single refresh timer of a client and its wake-up detection. @internal
 */
export class Schedule {
  readonly #clock: Clock;
  readonly #onDue: () => void;
  readonly #onWake: () => void;
  #timer: unknown;
  #dueAt: number | undefined;
  #tick: unknown;
  #lastTick = 0;
  #watching = false;
  readonly #onVisibility = (): void => {
    if ((globalThis.document as Document | undefined)?.visibilityState !== 'hidden') this.#onWake();
  };
  readonly #onWindowEvent = (): void => this.#onWake();

  constructor(clock: Clock, onDue: () => void, onWake: () => void) {
    this.#clock = clock;
    this.#onDue = onDue;
    this.#onWake = onWake;
  }

  /** Fires `onDue` once, `delayMs` from now, replacing any earlier plan. */
  at(delayMs: number): void {
    this.cancel();
    const delay = Math.max(0, delayMs);
    this.#dueAt = this.#clock.now() + delay;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#dueAt = undefined;
      this.#onDue();
    }, delay);
  }

  /** Forgets the planned refresh. */
  cancel(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dueAt = undefined;
  }

  /** When the planned refresh fires (local clock, ms since the epoch), if one is planned. */
  get dueAt(): number | undefined {
    return this.#dueAt;
  }

  /** Starts wake-up detection: the periodic tick and the browser's events. */
  watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    this.#lastTick = this.#clock.now();
    this.#scheduleTick();
    const w = globalThis as unknown as Partial<Window>;
    for (const event of WINDOW_EVENTS) w.addEventListener?.(event, this.#onWindowEvent);
    globalThis.document?.addEventListener?.('visibilitychange', this.#onVisibility);
  }

  /** Stops everything: the refresh timer, the tick and the event listeners. */
  stop(): void {
    this.cancel();
    if (!this.#watching) return;
    this.#watching = false;
    this.#clock.clearTimeout(this.#tick);
    this.#tick = undefined;
    const w = globalThis as unknown as Partial<Window>;
    for (const event of WINDOW_EVENTS) w.removeEventListener?.(event, this.#onWindowEvent);
    globalThis.document?.removeEventListener?.('visibilitychange', this.#onVisibility);
  }

  #scheduleTick(): void {
    this.#tick = this.#clock.setTimeout(() => {
      const now = this.#clock.now();
      const elapsed = now - this.#lastTick;
      this.#lastTick = now;
      this.#scheduleTick();
      // Later than planned by more than the threshold, or the clock went backwards.
      if (elapsed > WAKE_CHECK_INTERVAL_MS + WAKE_THRESHOLD_MS || elapsed < 0) this.#onWake();
    }, WAKE_CHECK_INTERVAL_MS);
  }
}

/** First retry after a failed background refresh, in milliseconds. */
export const RETRY_BASE_MS = 1_000;

/** Longest wait between background retries, in milliseconds. */
export const RETRY_MAX_MS = 60_000;

/**
 * The wait before background retry number `attempt` (0-based): exponential from
 * {@link RETRY_BASE_MS} to {@link RETRY_MAX_MS}, with "full jitter" in its upper half so that
 * clients cut off together do not come back together, and never sooner than the server's
 * `Retry-After`.
 *
 * @example
 * ```ts
 * retryDelayMs(0, undefined, 0.5); // 750
 * retryDelayMs(3, 30, 0.5);        // 30000: Retry-After wins
 * ```
 */
export function retryDelayMs(attempt: number, retryAfterSeconds: number | undefined, random = Math.random()): number {
  const ceiling = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt, 16));
  const backoff = Math.round(ceiling / 2 + (ceiling / 2) * random);
  return Math.max(backoff, (retryAfterSeconds ?? 0) * 1000);
}
