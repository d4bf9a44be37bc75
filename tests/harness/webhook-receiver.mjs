// A real HTTP receiver for Tollgate's email webhooks, standing in for the operator's mailer.
//
// Every delivery is verified with `standardwebhooks`, the Standard Webhooks project's own
// JavaScript library (pinned in package.json), exactly as a real receiver would: the tests
// read tokens only from messages that verified, so a message Tollgate signed wrongly never
// reaches a test as a token. Each attempt is kept (headers, body, whether it verified, what
// was answered), so tests can also check retries, ids and timestamps.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * Starts a receiver on a free loopback port.
 * @param {{failFirst?: number}} opts `failFirst`: answer 503 to the first N attempts (of any
 *   message), to test retries; `failNext(n)` does the same from then on.
 * @returns {Promise<{url: string, secret: string, attempts: object[], messages: object[],
 *   waitFor: (pred: (m: object) => boolean, timeoutMs?: number) => Promise<object>,
 *   close: () => Promise<void>}>}
 *   `secret` is a fresh `whsec_` secret for EMAIL_WEBHOOK_SECRET; `messages` the verified
 *   bodies (one per delivered message: a retried message that arrives twice is kept once, by
 *   its `webhook-id`, as the specification tells receivers to deduplicate).
 */
export async function startReceiver({ failFirst = 0 } = {}) {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const verifier = new Webhook(secret);
  const attempts = [];
  const messages = [];
  const seen = new Set();
  let failuresLeft = failFirst;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = {
        'webhook-id': req.headers['webhook-id'],
        'webhook-timestamp': req.headers['webhook-timestamp'],
        'webhook-signature': req.headers['webhook-signature'],
      };
      let payload = null;
      let error = null;
      try {
        payload = verifier.verify(body, headers);
      } catch (e) {
        error = String(e?.message ?? e);
      }
      const attempt = { method: req.method, path: req.url, headers, contentType: req.headers['content-type'], body, verified: !error, error, at: Date.now() };
      attempts.push(attempt);
      if (error) { attempt.status = 400; res.writeHead(400).end(); return; }
      if (failuresLeft > 0) { failuresLeft -= 1; attempt.status = 503; res.writeHead(503).end(); return; }
      attempt.status = 204;
      if (!seen.has(headers['webhook-id'])) {
        seen.add(headers['webhook-id']);
        messages.push({ ...payload, webhookId: headers['webhook-id'] });
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/hooks/email`;
  async function waitFor(pred, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = messages.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(messages.map((m) => ({ type: m.type, to: m.to })))}, ${attempts.length} attempts`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url, secret, attempts, messages, waitFor,
    failNext: (n) => { failuresLeft = n; },
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}
