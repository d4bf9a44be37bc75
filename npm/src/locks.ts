/**
 * One refresh at a time across every tab of the origin.
 *
 * Uses the Web Locks API (`navigator.locks`) with a bounded wait: a holder that keeps the lock
 * longer than {@link LOCK_ACQUIRE_TIMEOUT_MS} is presumed frozen or gone (a suspended tab, a
 * debugger) and the lock is stolen. Where Web Locks is missing (old browsers, Node) the lock
 * only orders the callers of this page; tabs then rely on the server's grace window, which
 * answers two refreshes with the same cookie with the same new token.
 */
import { type Clock, systemClock } from './clock.js';

/**
 * How long to wait for another tab's refresh before stealing its lock, in milliseconds: many
 * times a refresh's round trip, and well inside the server's 30 s reuse grace window, so even
 * a steal from a holder that was merely slow cannot look like token reuse.
 */
export const LOCK_ACQUIRE_TIMEOUT_MS = 5_000;

const local = new Map<string, Promise<unknown>>();

/**
 * Runs `work` while holding the exclusive lock `name`, and returns its result. The bounded
 * wait is timed with `clock` (the client's, so that tests drive it like every other timer).
 *
 * @example
 * ```ts
 * const token = await withLock('tollgate:refresh', () => refreshFromServer());
 * ```
 */
export async function withLock<T>(
  name: string,
  work: () => Promise<T>,
  clock: Clock = systemClock,
  acquireTimeoutMs = LOCK_ACQUIRE_TIMEOUT_MS,
): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  // `null` where an environment declares the API but lacks it (happy-dom, which React apps' unit tests use).
  if (locks == null || typeof locks.request !== 'function') return withLocalLock(name, work);

  let running: Promise<T> | undefined;
  const start = (): Promise<T> => (running = work());
  const abort = new AbortController();
  const timer = clock.setTimeout(() => abort.abort(), acquireTimeoutMs);
  try {
    return await locks.request(name, { signal: abort.signal }, () => {
      clock.clearTimeout(timer);
      return start();
    });
  } catch (error) {
    // Our own lock was stolen while `work` ran: its result still stands.
    if (running !== undefined) return running;
    if (!abort.signal.aborted) throw error;
    return locks.request(name, { steal: true }, start);
  } finally {
    clock.clearTimeout(timer);
  }
}

/** The fallback: callers in this page queue behind each other. */
async function withLocalLock<T>(name: string, work: () => Promise<T>): Promise<T> {
  const previous = local.get(name) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(work);
  const tail = mine.catch(() => undefined);
  local.set(name, tail);
  try {
    return await mine;
  } finally {
    if (local.get(name) === tail) local.delete(name);
  }
}
