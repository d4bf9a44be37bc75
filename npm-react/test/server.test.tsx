// @vitest-environment node
// On a server: no window, no document. Importing the bindings and rendering with them touches
// neither, sends no request, and shows `loading` (the session is the browser's to resume).
import { createAuthClient } from '@tollgate/client';
import { renderToString } from 'react-dom/server';
import { expect, it } from 'vitest';
import { AuthProvider, useAccessToken, useAuth } from '../src/index.js';

function Page() {
  const { status, user } = useAuth();
  const token = useAccessToken();
  return <p>{`${status} ${user?.email ?? '-'} ${token ?? 'none'}`}</p>;
}

it('renders loading on a server, with no window and no request', () => {
  expect(typeof window).toBe('undefined');
  expect(typeof document).toBe('undefined');
  const requests: string[] = [];
  const auth = createAuthClient({
    baseUrl: 'https://auth.test',
    fetch: async (input) => {
      requests.push(String(input));
      return new Response(null, { status: 500 });
    },
  });
  try {
    const html = renderToString(<AuthProvider client={auth}><Page /></AuthProvider>);
    expect(html).toBe('<p>loading - none</p>');
    expect(requests).toEqual([]);
  } finally {
    auth.close();
  }
});
