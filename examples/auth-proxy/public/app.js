// The app's page. Tollgate is at the app's own origin (the Worker forwards /auth/*), so the
// client's baseUrl is location.origin: no CORS, a first-party cookie.
import { createAuthClient } from './client/index.js';

const auth = createAuthClient({ baseUrl: location.origin });
const status = document.getElementById('status');
const form = document.getElementById('login');
const logout = document.getElementById('logout');

function show(claims) {
  status.dataset.state = claims ? 'signed-in' : 'signed-out';
  status.textContent = claims ? `Signed in (${claims.sub})` : 'Signed out';
  form.hidden = Boolean(claims);
  logout.hidden = !claims;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  try {
    show(await auth.login(form.email.value, form.password.value));
  } catch (error) {
    status.textContent = `${error.code}: ${error.message}`;
  }
});
logout.addEventListener('click', async () => {
  await auth.logout().catch(() => undefined);
  show(null);
});
auth.onChange((event) => {
  if (event.type === 'signed_out') show(null);
});

window.auth = auth; // for tests/browser/auth-proxy.test.mjs
show(await auth.resume().catch(() => null));
