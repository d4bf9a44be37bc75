/**
 * React bindings for `@tollgate/client`: {@link AuthProvider}, {@link useAuth} and
 * {@link useAccessToken}.
 *
 * They read the client through its `subscribe` / `getSnapshot` pair with React's
 * `useSyncExternalStore`, so every component of a render sees the same session (no tearing).
 * Nothing here runs at import: on a server it touches no `window`, and every render there
 * shows `status: 'loading'`.
 */
import type { AccessClaims, AuthClient, AuthSnapshot, AuthStatus, User } from '@tollgate/client';
import { createContext, createElement, type ReactNode, useContext, useEffect, useMemo, useState, useSyncExternalStore } from 'react';

/** What {@link useAuth} returns. */
export interface Auth {
  /** `loading` until the client's first `resume()` settles, then `signed_in` or `signed_out`. */
  status: AuthStatus;
  /** The access token's claims, decoded **without verification** (display only); `null` unless signed in. */
  claims: AccessClaims | null;
  /** The signed-in user as `GET /me` gives it, loaded once per session; `null` until then and when signed out. */
  user: User | null;
  /** Signs in (every tab of the origin follows). Rejects with the client's `AuthError`. */
  login(email: string, password: string): Promise<AccessClaims>;
  /** Ends this session here and in every tab. */
  logout(): Promise<void>;
  /** Ends every session of the user, on every device. */
  logoutAll(): Promise<void>;
  /** The client itself, for everything else (`fetch`, `sessions`, `register`, ...). */
  client: AuthClient;
}

/** What `<AuthProvider>` shares: the client, its bound actions and the loaded user. */
interface Shared {
  client: AuthClient;
  actions: Pick<Auth, 'login' | 'logout' | 'logoutAll'>;
  user: { sid: string; user: User } | null;
}

const Context = createContext<Shared | null>(null);

/** The server render's snapshot, and the first one while hydrating: no session is known there. */
const SERVER: AuthSnapshot = Object.freeze({ status: 'loading', claims: null, accessToken: null });
const serverSnapshot = () => SERVER;

/** Clients whose session `<AuthProvider>` has already resumed (StrictMode mounts twice). */
const resumed = new WeakSet<AuthClient>();

/** Props of {@link AuthProvider}. */
export interface AuthProviderProps {
  /** The app's one client, from `createAuthClient`. */
  client: AuthClient;
  /** Whether to call `client.resume()` once after mounting (default `true`); pass `false` if the app calls it itself. */
  resume?: boolean;
  /** The app. */
  children?: ReactNode;
}

/**
 * Makes `client` available to {@link useAuth} and {@link useAccessToken} below it, picks up
 * the session of an earlier visit (`client.resume()`, once per client, after mounting) and
 * loads the signed-in user from `GET /me`. A `resume()` that cannot reach the server leaves
 * `status` at `signed_out`; call `client.resume()` again to retry.
 *
 * @example
 * ```tsx
 * const auth = createAuthClient({ baseUrl: location.origin });
 * createRoot(root).render(<AuthProvider client={auth}><App /></AuthProvider>);
 * ```
 */
export function AuthProvider({ client, resume = true, children }: AuthProviderProps) {
  const sid = useSyncExternalStore(client.subscribe, () => client.getSnapshot().claims?.sid ?? null, () => null);
  const [user, setUser] = useState<Shared['user']>(null);
  useEffect(() => {
    if (!resume || resumed.has(client)) return;
    resumed.add(client);
    client.resume().catch(() => undefined);
  }, [client, resume]);
  useEffect(() => {
    if (sid === null) return;
    let current = true;
    client
      .fetch('/me')
      .then((r) => (r.ok ? r.json() : null))
      .then((found: User | null) => current && found && setUser({ sid, user: found }))
      .catch(() => undefined); // the next session (or reload) tries again
    return () => {
      current = false;
    };
  }, [client, sid]);
  const actions = useMemo<Shared['actions']>(
    () => ({ login: (email, password) => client.login(email, password), logout: () => client.logout(), logoutAll: () => client.logoutAll() }),
    [client],
  );
  const shared = useMemo<Shared>(() => ({ client, actions, user: user?.sid === sid ? user : null }), [client, actions, user, sid]);
  return createElement(Context.Provider, { value: shared }, children);
}

function useShared(): Shared {
  const shared = useContext(Context);
  if (shared === null) throw new Error('useAuth and useAccessToken need an <AuthProvider client={...}> above them.');
  return shared;
}

/**
 * The session, re-rendering when it changes: `{status, claims, user, login, logout, logoutAll, client}`.
 *
 * @throws {Error} when there is no {@link AuthProvider} above the component.
 * @example
 * ```tsx
 * const { status, user, logout } = useAuth();
 * if (status === 'loading') return null;
 * return status === 'signed_in' ? <button onClick={logout}>{user?.email ?? '…'}</button> : <SignIn />;
 * ```
 */
export function useAuth(): Auth {
  const { client, actions, user } = useShared();
  const { status, claims } = useSyncExternalStore(client.subscribe, client.getSnapshot, serverSnapshot);
  return { status, claims, user: status === 'signed_in' ? (user?.user ?? null) : null, ...actions, client };
}

/**
 * The current access token (`null` unless signed in), re-rendering only when it changes, as
 * each silent refresh does. For a request, prefer `useAuth().client.fetch`, which also
 * refreshes a token that is due.
 *
 * @example
 * ```tsx
 * const token = useAccessToken();
 * useEffect(() => { if (token) socket.authenticate(token); }, [token]);
 * ```
 */
export function useAccessToken(): string | null {
  const { client } = useShared();
  return useSyncExternalStore(client.subscribe, () => client.getSnapshot().accessToken, () => null);
}
