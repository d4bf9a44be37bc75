// Tollgate's email webhook in, an email API call out.
//
// Each POST is verified before anything else (Standard Webhooks, symmetric "v1"): the
// HMAC-SHA256 of `webhook-id.webhook-timestamp.body` under the whsec_ secret must match one of
// the signatures in `webhook-signature` (compared in constant time), and the timestamp must be
// within 5 minutes of now, so a captured request cannot be replayed later. Only then is the
// message turned into an email and sent. The `webhook-id` is passed on as the provider's
// idempotency key: Tollgate retries with the same id, so a retry never sends a second mail.
// Any failure of the provider answers 502, which makes Tollgate retry.

const TOLERANCE_S = 5 * 60;
const encoder = new TextEncoder();

export default {
  async fetch(request, env) {
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { Allow: 'POST' } });
    const body = await request.text();
    if (!(await verify(request.headers, body, env.EMAIL_WEBHOOK_SECRET))) {
      return new Response('signature does not verify', { status: 401 });
    }
    let message;
    try {
      message = JSON.parse(body);
    } catch {
      return new Response('not JSON', { status: 400 });
    }
    const email = compose(message);
    if (!email) return new Response('unknown message type', { status: 400 });
    const sent = await fetch(env.PROVIDER_URL, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${env.PROVIDER_API_KEY}` },
      body: JSON.stringify({ from: env.MAIL_FROM, to: message.to, ...email, idempotency_key: request.headers.get('webhook-id') }),
    }).catch(() => null);
    if (!sent?.ok) return new Response('the email API failed', { status: 502 });
    return new Response(null, { status: 204 });
  },
};

/** Whether the request is signed with `secret` (whsec_<base64>) and fresh. */
export async function verify(headers, body, secret) {
  const id = headers.get('webhook-id');
  const timestamp = headers.get('webhook-timestamp');
  const signatures = headers.get('webhook-signature');
  if (!id || !timestamp || !signatures || !secret?.startsWith('whsec_')) return false;
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - seconds) > TOLERANCE_S) return false;
  const key = await crypto.subtle.importKey('raw', base64(secret.slice('whsec_'.length)), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const content = encoder.encode(`${id}.${timestamp}.${body}`);
  for (const entry of signatures.split(' ')) {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) continue;
    let bytes;
    try {
      bytes = base64(signature);
    } catch {
      continue;
    }
    // crypto.subtle.verify compares in constant time.
    if (await crypto.subtle.verify('HMAC', key, bytes, content)) return true;
  }
  return false;
}

function base64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The subject and text of the email for a Tollgate message, or null for an unknown type. */
export function compose(message) {
  const link = message.link ?? `(open your app and paste this code: ${message.token})`;
  switch (message.type) {
    case 'password_reset':
      return { subject: 'Reset your password', text: `Someone asked to reset the password of this account. If it was you, choose a new one here:\n\n${link}\n\nThe link works once, until ${message.expires_at}. If it was not you, ignore this message.` };
    case 'email_verification':
      return { subject: 'Verify your email address', text: `Confirm that this address is yours:\n\n${link}\n\nThe link works until ${message.expires_at}.` };
    case 'email_change':
      return { subject: 'Confirm your new email address', text: `Confirm that your account should move to this address:\n\n${link}\n\nThe link works until ${message.expires_at}.` };
    case 'email_changed_notice':
      return { subject: 'Your email address is being changed', text: 'Someone signed in to your account asked to move it to another address. If it was not you, reset your password now.' };
    default:
      return null;
  }
}
