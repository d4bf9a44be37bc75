/**
 * What tabs of the same origin tell each other, over a `BroadcastChannel`: a new access token
 * (so that only one tab needs to refresh), and a session's end. Tokens stay in memory; the
 * channel never leaves the browser and is never persisted. @internal
 */
import type { SignOutReason } from './events.js';
import type { SkewRange } from './expiry.js';

/** One message between tabs. @internal */
export type TabMessage =
  | { type: 'token'; token: string; skew?: SkewRange }
  | { type: 'signed_out'; sid: string; reason: SignOutReason };

/** A channel to the other tabs, or a no-op where `BroadcastChannel` is missing. @internal */
export interface Tabs {
  post(message: TabMessage): void;
  close(): void;
}

/** Opens the channel `name`; `receive` gets every other tab's messages. @internal */
export function openTabs(name: string, receive: (message: TabMessage) => void): Tabs {
  if (typeof BroadcastChannel !== 'function') return { post() {}, close() {} };
  const channel = new BroadcastChannel(name);
  // Node: an open channel would otherwise keep the process alive.
  (channel as { unref?: () => void }).unref?.();
  channel.onmessage = (event: MessageEvent) => {
    const data = event.data as TabMessage | null;
    if (data && (data.type === 'token' || data.type === 'signed_out')) receive(data);
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
