/**
 * What tabs of the same origin tell each other, over a `BroadcastChannel`: a new access token
 * (so that only one tab needs to refresh), and a session's end. Tokens stay in memory; the
 * channel never leaves the browser and is never persisted. @internal
 *
 * Every script of the origin can post on the channel, so what arrives is checked here for
 * shape and by the client for meaning: a tab takes a token only for the session it already
 * has, or, when it has none, from another tab's sign-in.
 */
import type { SignOutReason } from './events.js';
import type { SkewRange } from './expiry.js';

/** One message between tabs. @internal */
export type TabMessage =
  /**
   * A tab got a token: `signed_in` when it started a session (a login, or a resume that found
   * one), `token_refreshed` when it renewed the session it had.
   */
  | { type: 'token'; event: 'signed_in' | 'token_refreshed'; token: string; skew?: SkewRange }
  /** Session `sid` ended in a tab. */
  | { type: 'signed_out'; sid: string; reason: SignOutReason };

/** A channel to the other tabs, or a no-op where `BroadcastChannel` is missing. @internal */
export interface Tabs {
  post(message: TabMessage): void;
  close(): void;
}

const REASONS: readonly string[] = ['logout', 'logout_all', 'revoked', 'session_ended'] satisfies SignOutReason[];

/** `data` if it is a well-formed {@link TabMessage}, else `null`. @internal */
export function parseTabMessage(data: unknown): TabMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  if (m.type === 'token') {
    if (typeof m.token !== 'string' || (m.event !== 'signed_in' && m.event !== 'token_refreshed')) return null;
    const skew = m.skew as Record<string, unknown> | undefined;
    const validSkew = typeof skew === 'object' && skew !== null && typeof skew.low === 'number' && typeof skew.high === 'number';
    return validSkew
      ? { type: 'token', event: m.event, token: m.token, skew: { low: skew.low as number, high: skew.high as number } }
      : { type: 'token', event: m.event, token: m.token };
  }
  if (m.type === 'signed_out') {
    if (typeof m.sid !== 'string' || typeof m.reason !== 'string' || !REASONS.includes(m.reason)) return null;
    return { type: 'signed_out', sid: m.sid, reason: m.reason as SignOutReason };
  }
  return null;
}

/** Opens the channel `name`; `receive` gets every other tab's well-formed messages. @internal */
export function openTabs(name: string, receive: (message: TabMessage) => void): Tabs {
  if (typeof BroadcastChannel !== 'function') return { post() {}, close() {} };
  const channel = new BroadcastChannel(name);
  // Node: an open channel would otherwise keep the process alive.
  (channel as { unref?: () => void }).unref?.();
  channel.onmessage = (event: MessageEvent) => {
    const message = parseTabMessage(event.data);
    if (message !== null) receive(message);
  };
  let open = true;
  return {
    // A closed channel throws on post; a client used after close() tells no tab, and no error.
    post: (message) => {
      if (open) channel.postMessage(message);
    },
    close: () => {
      open = false;
      channel.close();
    },
  };
}
