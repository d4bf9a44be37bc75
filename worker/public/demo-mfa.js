// The demo page's second factor: a login that answers mfa_required asks for a code, and a
// signed-in user can set up an authenticator app (shown as a QR code, drawn by the
// @paulmillr/qr library served from /vendor/qr/), turn it off, and get new recovery codes.
import { AuthError } from '/client/index.js';
import { encodeQR } from '/vendor/qr/index.js';

const $ = (id) => document.getElementById(id);

/** Draws `text` as a QR code on `canvas` (4 pixels a module). */
function drawQR(canvas, text) {
  const modules = encodeQR(text, 'raw', { ecc: 'medium', border: 2 });
  const scale = 4;
  canvas.width = canvas.height = modules.length * scale;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#000';
  modules.forEach((row, y) => row.forEach((on, x) => { if (on) g.fillRect(x * scale, y * scale, scale, scale); }));
}

/**
 * Wires the second-factor parts of the page to `auth`; `act` runs an action and shows its
 * error, `notice` says what happened. Returns `login(email, password)`, which asks for the
 * second step when the account needs one.
 */
export function setupMfa({ auth, act, notice }) {
  let pending = null;

  async function login(email, password) {
    try {
      await auth.login(email, password);
    } catch (error) {
      if (!(error instanceof AuthError) || error.code !== 'mfa_required') throw error;
      pending = error;
      $('mfa-step').hidden = false;
      $('mfa-passkey').hidden = !error.methods?.includes('passkey');
      // An account whose only second factor is a passkey has no code to type.
      $('mfa-form').hidden = !error.methods?.some((m) => m === 'totp' || m === 'recovery_code');
      if (!$('mfa-form').hidden) $('mfa-code').focus();
    }
  }

  $('mfa-passkey').addEventListener('click', () => {
    act(async () => {
      await pending.continueWithPasskey();
      pending = null;
      $('mfa-step').hidden = true;
    });
  });

  $('mfa-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      const code = $('mfa-code').value.trim();
      await ($('mfa-use-recovery').checked ? pending.continueWithRecoveryCode(code) : pending.continue(code));
      pending = null;
      $('mfa-step').hidden = true;
      $('mfa-form').reset();
    });
  });

  async function showState() {
    const res = await auth.fetch('/me');
    if (!res.ok) return;
    const { mfa } = await res.json();
    $('mfa-state').textContent = mfa?.totp
      ? `An authenticator app is on; ${mfa.recovery_codes} recovery codes left.`
      : 'No authenticator app yet.';
    $('mfa-state').dataset.totp = String(Boolean(mfa?.totp));
    $('totp-enrol-form').hidden = Boolean(mfa?.totp);
    $('totp-manage-form').hidden = !mfa?.totp;
  }

  function showCodes(codes) {
    $('recovery').hidden = false;
    $('recovery-codes').textContent = codes.join('\n');
  }

  $('totp-enrol-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      const { secret, otpauth_uri: uri } = await auth.enrollTotp($('totp-password').value);
      drawQR($('totp-qr'), uri);
      $('totp-qr').dataset.uri = uri;
      $('totp-secret').textContent = secret;
      $('totp-setup').hidden = false;
      $('totp-enrol-form').reset();
    });
  });
  $('totp-confirm-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      showCodes(await auth.confirmTotp($('totp-code').value.trim()));
      $('totp-setup').hidden = true;
      $('totp-confirm-form').reset();
      notice('The authenticator app is on. Keep the recovery codes somewhere safe: they are shown only once.');
      await showState();
    });
  });
  $('totp-disable').addEventListener('click', () => act(async () => {
    await auth.disableTotp($('manage-password').value, $('manage-code').value.trim());
    $('totp-manage-form').reset();
    $('recovery').hidden = true;
    notice('The authenticator app is off.');
    await showState();
  }));
  $('totp-regenerate').addEventListener('click', () => act(async () => {
    const password = $('manage-password').value;
    const code = $('manage-code').value.trim();
    showCodes(await auth.regenerateRecoveryCodes(password ? { currentPassword: password } : { code }));
    $('totp-manage-form').reset();
    await showState();
  }));

  return { login, showState };
}
