/**
 * The client's state as one immutable snapshot, for `subscribe` / `getSnapshot`: the pair
 * React's `useSyncExternalStore`, Svelte's `readable` and Vue's `shallowRef` read it through.
 */
import type { AccessClaims } from './claims.js';

/**
 * Where the session stands: `loading` until the first {@link AuthClient.resume} settles (or a
 * sign-in happens first), then `signed_in` or `signed_out`.
 *
 * @example
 * ```ts
 * const label: Record<AuthStatus, string> = { loading: '…', signed_in: 'Sign out', signed_out: 'Sign in' };
 * ```
 */
export type AuthStatus = 'loading' | 'signed_in' | 'signed_out';

/**
 * What {@link AuthClient.getSnapshot} returns: a frozen object, the same one until the session
 * changes (a sign-in, each refresh, a sign-out, in this tab or another), so it can be compared
 * by identity.
 *
 * @example
 * ```ts
 * const { status, claims } = auth.getSnapshot();
 * if (status === 'signed_in') badge.textContent = claims!.role;
 * ```
 */
export interface AuthSnapshot {
  /** Where the session stands. */
  readonly status: AuthStatus;
  /** The access token's claims, decoded **without verification** (display only); `null` unless signed in. */
  readonly claims: AccessClaims | null;
  /** The current access token (kept fresh by silent refresh); `null` unless signed in. */
  readonly accessToken: string | null;
}

/** The snapshot before anything is known. @internal */
export const LOADING: AuthSnapshot = Object.freeze({ status: 'loading', claims: null, accessToken: null });

/** Holds the snapshot and tells subscribers when it changes. @internal */
export class Store {
  #snapshot = LOADING;
  readonly #subscribers = new Set<() => void>();

  get snapshot(): AuthSnapshot {
    return this.#snapshot;
  }

  /** Publishes a new snapshot unless it equals the current one. @internal */
  set(status: AuthStatus, claims: AccessClaims | null, accessToken: string | null): void {
    const now = this.#snapshot;
    if (now.status === status && now.claims === claims && now.accessToken === accessToken) return;
    this.#snapshot = Object.freeze({ status, claims, accessToken });
    for (const subscriber of [...this.#subscribers]) isolate(subscriber);
  }

  subscribe(listener: () => void): () => void {
    const own = () => listener(); // a listener subscribed twice is two subscriptions
    this.#subscribers.add(own);
    return () => {
      this.#subscribers.delete(own);
    };
  }

  clear(): void {
    this.#subscribers.clear();
  }
}

/** Calls `f`; an error it throws is reported where uncaught errors go, never to the caller. @internal */
export function isolate(f: () => void): void {
  try {
    f();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
