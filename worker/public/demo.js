// The demo page: everything goes through @tollgate/client, imported from /client/ exactly as
// an app would import its built copy. No inline script; the one third-party library, a QR
// code encoder, is served from /vendor/ (demo-mfa.js).
import { AuthError, createAuthClient, secondsLeft } from '/client/index.js';
import { setupMfa } from '/demo-mfa.js';

const $ = (id) => document.getElementById(id);
const auth = createAuthClient({ baseUrl: location.origin });
// For end-to-end tests and the curious: the live client.
window.tollgateDemo = auth;

let refreshes = 0;

function log(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('events').prepend(li);
}

function showError(error) {
  $('error').textContent = error ? (error instanceof AuthError ? `${error.message} (${error.code})` : String(error)) : '';
  if (error?.errors) $('error').textContent += ' ' + error.errors.map((e) => `${e.field}: ${e.detail}`).join('; ');
}

function notice(text) {
  $('notice').textContent = text;
}

function render() {
  const claims = auth.claims;
  const signedIn = claims !== null;
  $('unverified').hidden = !signedIn || claims.email_verified !== false;
  $('signed-in').hidden = !signedIn;
  $('signed-out').hidden = signedIn;
  $('status').dataset.state = signedIn ? 'signed-in' : 'signed-out';
  $('status').textContent = signedIn ? `Signed in (role ${claims.role}, session ${claims.sid})` : 'Signed out';
  $('claims').textContent = signedIn ? JSON.stringify(claims, null, 2) : '';
  $('refresh-count').textContent = String(refreshes);
  if (!signedIn) $('sessions').replaceChildren();
  if (!signedIn) $('passkeys').replaceChildren();
}

// The live countdown: redrawn a few times a second from the client's own plan.
function tick() {
  const next = auth.nextRefreshAt;
  $('countdown').textContent = next === null ? '–' : `${Math.max(0, (next - Date.now()) / 1000).toFixed(1)} s`;
  const claims = auth.claims;
  // Time left as the server counts it: the local clock corrected by the client's estimate.
  $('expires-in').textContent = claims ? `${secondsLeft(claims.exp, Date.now(), auth.clockOffsetMs)} s` : '–';
}
setInterval(tick, 200);

auth.onChange((event) => {
  if (event.type === 'token_refreshed') refreshes++;
  const detail = event.type === 'signed_out' ? ` (${event.reason}${event.error ? `: ${event.error.code}` : ''})`
    : event.type === 'refresh_failed' ? ` (${event.error.code}; retry in ${event.retryInMs} ms)` : '';
  log(event.type + detail);
  render();
  if (event.type === 'signed_in') {
    loadSessions();
    mfa.showState().catch(showError);
    loadPasskeys();
  }
});

async function loadPasskeys() {
  try {
    const passkeys = await auth.passkeys();
    $('passkeys').replaceChildren(...passkeys.map((p) => {
      const row = document.createElement('tr');
      row.dataset.testid = 'passkey';
      row.dataset.passkeyId = p.id;
      for (const text of [`${p.kind === 'swk' ? 'synced' : 'device-bound'} (${p.alg === -8 ? 'EdDSA' : 'ES256'})`, p.created_at, p.last_used_at ?? 'never']) {
        const td = document.createElement('td');
        td.textContent = text;
        row.append(td);
      }
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Remove';
      button.dataset.testid = 'remove-passkey';
      button.addEventListener('click', () => act(async () => { await auth.removePasskey(p.id); await loadPasskeys(); }));
      const td = document.createElement('td');
      td.append(button);
      row.append(td);
      return row;
    }));
  } catch (error) {
    showError(error);
  }
}

async function loadSessions() {
  try {
    const sessions = await auth.sessions();
    $('sessions').replaceChildren(...sessions.map((s) => {
      const row = document.createElement('tr');
      row.dataset.sessionId = s.id;
      row.dataset.testid = 'session';
      if (s.current) row.className = 'current';
      for (const text of [s.created_at, s.last_used_at, s.user_agent + (s.current ? ' (this one)' : '')]) {
        const td = document.createElement('td');
        td.textContent = text;
        row.append(td);
      }
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Revoke';
      button.dataset.testid = `revoke-${s.id}`;
      button.addEventListener('click', () => act(async () => { await auth.revokeSession(s.id); await loadSessions(); }));
      const td = document.createElement('td');
      td.append(button);
      row.append(td);
      return row;
    }));
  } catch (error) {
    showError(error);
  }
}

async function act(work) {
  showError(null);
  try {
    await work();
  } catch (error) {
    showError(error);
  }
  render();
}

const credentials = () => [$('email').value, $('password').value];
const mfa = setupMfa({ auth, act, notice });

$('auth-form').addEventListener('submit', (event) => {
  event.preventDefault();
  act(() => mfa.login(...credentials()));
});
$('register').addEventListener('click', () => act(async () => {
  if (!$('auth-form').reportValidity()) return;
  await auth.register(...credentials());
  log('registered');
  await auth.login(...credentials());
}));
$('passkey-login').addEventListener('click', () => act(() => auth.loginWithPasskey()));
$('passkey-register').addEventListener('click', () => act(async () => {
  await auth.registerPasskey();
  log('passkey added');
  await loadPasskeys();
}));
$('logout').addEventListener('click', () => act(() => auth.logout()));
$('logout-all').addEventListener('click', () => act(() => auth.logoutAll()));
$('load-sessions').addEventListener('click', () => act(loadSessions));
$('call-me').addEventListener('click', () => act(async () => {
  const res = await auth.fetch('/me');
  $('me').textContent = `${res.status} ${JSON.stringify(await res.json(), null, 2)}`;
}));

$('forgot').addEventListener('click', () => act(async () => {
  if (!$('email').reportValidity()) return;
  await auth.requestPasswordReset($('email').value);
  notice('If that address has an account, a link to choose a new password is on its way.');
}));
$('resend-verification').addEventListener('click', () => act(async () => {
  await auth.requestEmailVerification();
  notice('A new verification link is on its way.');
}));

// A link from a message: APP_URL#token=…&type=…. The fragment is read here and removed from
// the address bar at once, so the token stays out of history and of any server's logs.
const link = new URLSearchParams(location.hash.slice(1));
const linkToken = link.get('token');
if (linkToken) {
  history.replaceState(null, '', location.pathname + location.search);
  const type = link.get('type');
  $('complete').hidden = false;
  if (type === 'password_reset') {
    $('reset-form').hidden = false;
    $('reset-form').addEventListener('submit', (event) => {
      event.preventDefault();
      act(async () => {
        await auth.confirmPasswordReset(linkToken, $('new-password').value);
        $('complete').hidden = true;
        notice('Your password is set. Every session was signed out: log in with the new password.');
      });
    });
  } else {
    $('complete-title').textContent = type === 'email_change' ? 'Confirming your new address…' : 'Verifying your address…';
    act(async () => {
      await (type === 'email_change' ? auth.confirmEmailChange(linkToken) : auth.confirmEmail(linkToken));
      $('complete').hidden = true;
      notice(type === 'email_change' ? 'Your address has changed.' : 'Your address is verified.');
    });
  }
}

// "Sign in with ..." for each configured identity provider. The provider sends the browser
// back here: with a session for resume() below, or with #error=<code> (or #linked=<name>
// after linking), which is shown and left in the address bar (it holds no secret).
fetch('/auth/oauth/providers').then((r) => (r.ok ? r.json() : { providers: [] })).then(({ providers }) => {
  for (const name of providers) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `Sign in with ${name}`;
    button.dataset.testid = `sign-in-with-${name}`;
    button.addEventListener('click', () => auth.signInWith(name, { redirectTo: `${location.origin}/` }));
    $('providers').append(button);
  }
}).catch(() => undefined);

// Resume the session of an earlier visit (the refresh cookie), then show whatever we have.
act(() => auth.resume()).finally(() => {
  if (link.get('error')) showError(`Sign-in refused: ${link.get('error')}`);
  if (link.get('linked')) notice(`Linked your ${link.get('linked')} account.`);
  document.body.dataset.ready = 'true';
  tick();
});
