// <AuthProvider>, useAuth and useAccessToken with the real @tollgate/client (built, with its
// wasm) against the fake server and clock of the client's unit tests: status follows resume,
// login, each silent refresh and logout; the user comes from one GET /me per session.
import { type AuthClient, createAuthClient } from '@tollgate/client';
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { StrictMode, useRef } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, FakeServer } from '../../npm/test/fakes.js';
import { AuthProvider, useAccessToken, useAuth } from '../src/index.js';

const clients: AuthClient[] = [];
afterEach(() => {
  cleanup();
  for (const c of clients.splice(0)) c.close();
});

function setup({ ttl = 900 } = {}) {
  const clock = new FakeClock();
  const server = new FakeServer({ clock, ttl });
  // `me.hold`, while set, holds GET /me answers back.
  const me: { hold?: Promise<void> } = {};
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    if ((input instanceof Request ? input.url : String(input)).endsWith('/me')) await me.hold;
    return server.fetch(input, init);
  };
  const auth = createAuthClient({ baseUrl: 'https://auth.test', fetch, clock, storage: null });
  clients.push(auth);
  return { clock, server, auth, me };
}

/** Shows every field of useAuth, and how often it rendered. */
function Status() {
  const { status, claims, user } = useAuth();
  const renders = useRef(0);
  renders.current++;
  return (
    <p data-testid="status" data-renders={renders.current}>
      {status} {claims?.sid ?? '-'} {user?.email ?? '-'}
    </p>
  );
}

function Token() {
  const token = useAccessToken();
  return <p data-testid="token">{token ?? 'none'}</p>;
}

const shown = () => screen.getByTestId('status').textContent;
const app = (auth: AuthClient, extra: { resume?: boolean } = {}) => (
  <StrictMode>
    <AuthProvider client={auth} {...extra}>
      <Status />
      <Token />
    </AuthProvider>
  </StrictMode>
);

describe('@tollgate/react', () => {
  it('useAuth and useAccessToken outside an <AuthProvider> say what is missing', () => {
    const quiet = console.error;
    console.error = () => undefined; // React logs the thrown error too
    try {
      expect(() => render(<Status />)).toThrow('<AuthProvider client={...}>');
      expect(() => render(<Token />)).toThrow('<AuthProvider client={...}>');
    } finally {
      console.error = quiet;
    }
  });

  it('is loading until resume() settles, resumes once under StrictMode, then signed_out without a session', async () => {
    const { auth, server } = setup();
    let release!: () => void;
    server.hold = new Promise((r) => (release = r));
    server.refreshPlan.push({ status: 401, body: { detail: 'no', code: 'invalid_refresh_token' } });
    render(app(auth));
    expect(shown()).toBe('loading - -');
    await act(async () => release());
    await waitFor(() => expect(shown()).toBe('signed_out - -'));
    expect(server.count('/auth/refresh')).toBe(1);
    expect(server.count('/me')).toBe(0);
    expect(screen.getByTestId('token').textContent).toBe('none');
  });

  it('resumes a session: signed_in with its claims, then the user from one GET /me', async () => {
    const { auth, server } = setup();
    const first = render(app(auth));
    await waitFor(() => expect(shown()).toBe('signed_in session-1 sam@example.com'));
    expect(screen.getByTestId('token').textContent).toBe(server.issued[0]);
    expect(server.count('/me')).toBe(1);
    // Mounted again (a route change, say): the session is not resumed a second time.
    first.unmount();
    render(app(auth));
    await waitFor(() => expect(shown()).toBe('signed_in session-1 sam@example.com'));
    expect(server.count('/auth/refresh')).toBe(1);
  });

  it('with resume={false} it leaves resume() to the app', async () => {
    const { auth, server } = setup();
    render(app(auth, { resume: false }));
    await act(() => new Promise((r) => setTimeout(r, 20)));
    expect(shown()).toBe('loading - -');
    expect(server.count('/auth/refresh')).toBe(0);
    await act(async () => {
      await auth.resume();
    });
    await waitFor(() => expect(shown()).toBe('signed_in session-1 sam@example.com'));
  });

  it('login and logout from useAuth; a silent refresh changes the token, not the user', async () => {
    const { auth, server, clock } = setup();
    server.refreshPlan.push({ status: 401, body: { detail: 'no', code: 'invalid_refresh_token' } });
    let actions!: ReturnType<typeof useAuth>;
    function Grab() {
      actions = useAuth();
      return null;
    }
    render(
      <AuthProvider client={auth}>
        <Status />
        <Token />
        <Grab />
      </AuthProvider>,
    );
    await waitFor(() => expect(shown()).toBe('signed_out - -'));
    const { login, logout } = actions;
    await act(async () => {
      await login('sam@example.com', 'right password');
    });
    await waitFor(() => expect(shown()).toBe('signed_in session-1 sam@example.com'));
    expect(screen.getByTestId('token').textContent).toBe(server.issued[0]);
    // The actions keep their identity across renders (safe in effect dependencies).
    expect(actions.login).toBe(login);

    await act(() => clock.advance(720_001)); // past half of a 900 s token: one silent refresh
    expect(server.count('/auth/refresh')).toBe(2);
    expect(screen.getByTestId('token').textContent).toBe(server.issued[1]);
    expect(shown()).toBe('signed_in session-1 sam@example.com');
    expect(server.count('/me')).toBe(1);

    await act(() => logout());
    expect(shown()).toBe('signed_out - -');
    expect(screen.getByTestId('token').textContent).toBe('none');
  });

  it('a new session loads its user again, and shows no user until its own /me answers', async () => {
    const { auth, server, me } = setup();
    server.refreshPlan.push({ status: 401, body: { detail: 'no', code: 'invalid_refresh_token' } });
    render(app(auth));
    await waitFor(() => expect(shown()).toBe('signed_out - -'));
    await act(async () => {
      await auth.login('sam@example.com', 'right password');
    });
    await waitFor(() => expect(shown()).toBe('signed_in session-1 sam@example.com'));
    await act(() => auth.logout());
    server.sid = 'session-2';
    let release!: () => void;
    me.hold = new Promise((r) => (release = r));
    await act(async () => {
      await auth.login('sam@example.com', 'right password');
    });
    // The first session's user is not shown for the second.
    expect(shown()).toBe('signed_in session-2 -');
    await act(async () => release());
    await waitFor(() => expect(shown()).toBe('signed_in session-2 sam@example.com'));
    expect(server.count('/me')).toBe(2);
  });

  it('every component of a render sees the same token (no tearing), and a refresh re-renders a useAuth reader once', async () => {
    const { auth, clock, server } = setup();
    render(
      <AuthProvider client={auth}>
        <Status />
        <Token />
        <Token />
      </AuthProvider>,
    );
    await waitFor(() => expect(shown()).toBe('signed_in session-1 sam@example.com'));
    const before = Number(screen.getByTestId('status').dataset.renders);
    await act(() => clock.advance(720_001));
    const tokens = screen.getAllByTestId('token').map((e) => e.textContent);
    expect(tokens).toEqual([server.issued[1], server.issued[1]]);
    // useAuth returns the claims too, which change with each token: it renders once per refresh.
    expect(Number(screen.getByTestId('status').dataset.renders)).toBe(before + 1);
  });
});
