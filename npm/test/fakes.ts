// A fake clock and a fake Tollgate server for the client's unit tests. Tokens are real
// compact JWTs (unsigned: the client never verifies) with the server's claims.
import type { Clock } from '../src/clock.js';

/** Flushes pending promise callbacks and I/O-free tasks. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

interface Timer {
  at: number;
  run: () => void;
}

/**
 * A wall clock whose timers run on a separate monotonic time, as in browsers: `sleep` moves
 * the wall clock without letting timers fire, then delays every timer by the slept time.
 */
export class FakeClock implements Clock {
  wall: number;
  #timers = new Map<number, Timer>();
  #next = 1;

  constructor(wall = Date.UTC(2026, 0, 1)) {
    this.wall = wall;
  }

  now(): number {
    return this.wall;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.wall + Math.max(0, ms), run });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.wall + ms;
    await settle();
    for (;;) {
      let first: [number, Timer] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= end && (!first || entry[1].at < first[1].at)) first = entry;
      if (!first) break;
      this.#timers.delete(first[0]);
      this.wall = Math.max(this.wall, first[1].at);
      first[1].run();
      await settle();
    }
    this.wall = end;
    await settle();
  }

  /** The machine sleeps for `ms`: the wall clock jumps, timers neither fire nor advance. */
  sleep(ms: number): void {
    this.wall += ms;
    for (const timer of this.#timers.values()) timer.at += ms;
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** When each pending timer fires (wall clock, ms since the epoch), soonest first. */
  get timerTimes(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWT with these claims (signature not verifiable: the client never checks). */
export function jwt(claims: Record<string, unknown>): string {
  return `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64(claims)}.c2lnbmF0dXJl`;
}

export type Behaviour =
  | {
      status: number;
      body?: unknown;
      /** Extra headers, or a function of the server making them when the response is sent. */
      headers?: Record<string, string> | ((server: FakeServer) => Record<string, string>);
      /** Answer without a `Date` header (as a cross-origin server that does not expose it). */
      noDate?: boolean;
    }
  | 'network'
  | 'hang';

export interface FakeServerOptions {
  clock: FakeClock;
  /** Server time = local wall clock + this (the local clock's error, negated). */
  offsetMs?: number;
  /** Access-token lifetime in seconds. */
  ttl?: number;
}

/**
 * Routes of the Tollgate contract, in memory. `refreshPlan` queues behaviours for the next
 * refreshes (then it answers 200); `released` lets a test hold refresh responses.
 */
export class FakeServer {
  readonly clock: FakeClock;
  offsetMs: number;
  ttl: number;
  readonly calls: { method: string; origin: string; path: string; authorization: string | null; at: number }[] = [];
  readonly refreshPlan: Behaviour[] = [];
  /** Tokens the server refuses on protected routes (as if revoked). */
  readonly refused = new Set<string>();
  hold: Promise<void> | undefined;
  /** Refuse every access token on protected routes. */
  acceptNone = false;
  #jti = 0;
  sid = 'session-1';
  issued: string[] = [];

  constructor(options: FakeServerOptions) {
    this.clock = options.clock;
    this.offsetMs = options.offsetMs ?? 0;
    this.ttl = options.ttl ?? 900;
  }

  serverNow(): number {
    return this.clock.now() + this.offsetMs;
  }

  count(path: string): number {
    return this.calls.filter((c) => c.path === path).length;
  }

  token(): string {
    const iat = Math.floor(this.serverNow() / 1000);
    const t = jwt({
      iss: 'tollgate', aud: 'tollgate', sub: 'user-1', iat, nbf: iat, exp: iat + this.ttl,
      jti: `jti-${++this.#jti}`, sid: this.sid, role: 'user', scope: 'profile',
    });
    this.issued.push(t);
    return t;
  }

  /** Whether the server would accept `token` now (its own clock, no leeway). */
  accepts(token: string): boolean {
    if (this.acceptNone || this.refused.has(token) || !this.issued.includes(token)) return false;
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    return this.serverNow() < exp * 1000;
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    const url = new URL(request.url);
    const authorization = request.headers.get('Authorization');
    this.calls.push({ method: request.method, origin: url.origin, path: url.pathname, authorization, at: this.clock.now() });
    await Promise.resolve();
    const route = `${request.method} ${url.pathname}`;
    if (route === 'POST /auth/login') {
      const form = new URLSearchParams(await request.text());
      if (form.get('grant_type') !== 'password' || form.get('password') !== 'right password') {
        return this.json(401, { detail: 'Incorrect email or password.', code: 'invalid_credentials' });
      }
      return this.json(200, { access_token: this.token(), token_type: 'bearer', expires_in: this.ttl });
    }
    if (route === 'POST /auth/refresh') {
      const plan = this.refreshPlan.shift();
      if (this.hold) await this.hold;
      if (plan === 'network') throw new TypeError('fetch failed');
      if (plan === 'hang') return new Promise<Response>(() => {});
      if (plan) {
        const headers = typeof plan.headers === 'function' ? plan.headers(this) : plan.headers;
        const response = this.json(plan.status, plan.body ?? {}, headers);
        if (plan.noDate) response.headers.delete('Date');
        return response;
      }
      return this.json(200, { access_token: this.token(), token_type: 'bearer', expires_in: this.ttl });
    }
    if (route === 'POST /auth/logout') return this.empty(204);
    const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7) : null;
    if (bearer === null || !this.accepts(bearer)) {
      return this.json(401, { detail: 'The access token is invalid or has expired.', code: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer' });
    }
    if (route === 'GET /me') return this.json(200, { id: 'user-1', email: 'sam@example.com', role: 'user', scopes: ['profile'] });
    if (route === 'GET /auth/sessions') {
      return this.json(200, { sessions: [{ id: this.sid, created_at: '2026-01-01T00:00:00Z', last_used_at: '2026-01-01T00:00:00Z', user_agent: 'test', current: true }] });
    }
    if (route === 'POST /auth/logout-all') return this.empty(204);
    if (request.method === 'DELETE' && url.pathname.startsWith('/auth/sessions/')) return this.empty(204);
    if (route === 'POST /echo') return this.json(200, { body: await request.text() });
    return this.json(404, { detail: 'Not found.', code: 'not_found' });
  };

  json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json', Date: new Date(this.serverNow()).toUTCString(), ...headers },
    });
  }

  empty(status: number): Response {
    return new Response(null, { status, headers: { Date: new Date(this.serverNow()).toUTCString() } });
  }
}

type LockCallback = (lock: { name: string; mode: 'exclusive' }) => unknown;

interface LockRequest {
  callback: LockCallback;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

const abortError = (message: string) => new DOMException(message, 'AbortError');

/**
 * The Web Locks API (`navigator.locks`) for exclusive locks, as the spec has it: one holder
 * per name, waiters granted in order (each in a later task, as browsers queue it), a waiter
 * whose `signal` aborts leaves the queue with an `AbortError`, and `steal` takes the lock at
 * once, rejecting the previous holder's request with an `AbortError` while its callback runs
 * on. Shared by every client of a test, as one browser's locks are by its tabs.
 */
export class FakeLocks {
  readonly #held = new Map<string, LockRequest>();
  readonly #queues = new Map<string, LockRequest[]>();
  /** How many times a lock was stolen. */
  steals = 0;
  /** How many times a lock was granted (steals included). */
  grants = 0;

  request(name: string, optionsOrCallback: LockOptions | LockCallback, maybeCallback?: LockCallback): Promise<unknown> {
    const [options, callback] = typeof optionsOrCallback === 'function'
      ? [{} as LockOptions, optionsOrCallback]
      : [optionsOrCallback, maybeCallback!];
    return new Promise((resolve, reject) => {
      const request: LockRequest = { callback, resolve, reject };
      if (options.steal) {
        const holder = this.#held.get(name);
        if (holder) holder.reject(abortError('The lock was stolen.'));
        this.steals++;
        this.#grant(name, request);
        return;
      }
      const signal = options.signal;
      if (signal?.aborted) return reject(abortError('Aborted.'));
      const queue = this.#queues.get(name) ?? [];
      this.#queues.set(name, queue);
      queue.push(request);
      signal?.addEventListener('abort', () => {
        const at = queue.indexOf(request);
        if (at < 0) return; // already granted
        queue.splice(at, 1);
        reject(abortError('Aborted.'));
      });
      if (!this.#held.has(name)) this.#next(name);
    });
  }

  /** Whether someone holds `name`. */
  isHeld(name: string): boolean {
    return this.#held.has(name);
  }

  #next(name: string): void {
    const request = this.#queues.get(name)?.shift();
    if (request) this.#grant(name, request);
  }

  #grant(name: string, request: LockRequest): void {
    this.#held.set(name, request);
    this.grants++;
    const release = () => {
      if (this.#held.get(name) !== request) return; // stolen: the thief holds it now
      this.#held.delete(name);
      setImmediate(() => {
        if (!this.#held.has(name)) this.#next(name);
      });
    };
    Promise.resolve()
      .then(() => request.callback({ name, mode: 'exclusive' }))
      .then(
        (value) => {
          release();
          request.resolve(value);
        },
        (error: unknown) => {
          release();
          request.reject(error);
        },
      );
  }
}

/**
 * A `BroadcastChannel` whose messages reach every other channel of the same name in this
 * process as a microtask: sooner than a released lock's next holder is granted (a later
 * task), so the order "token broadcast, then lock handed on" is deterministic in tests.
 */
export class FakeBroadcastChannel {
  static readonly #open = new Map<string, Set<FakeBroadcastChannel>>();
  readonly name: string;
  onmessage: ((event: MessageEvent) => void) | null = null;

  constructor(name: string) {
    this.name = name;
    const peers = FakeBroadcastChannel.#open.get(name) ?? new Set();
    FakeBroadcastChannel.#open.set(name, peers);
    peers.add(this);
  }

  postMessage(data: unknown): void {
    const copy = structuredClone(data);
    for (const peer of FakeBroadcastChannel.#open.get(this.name) ?? []) {
      if (peer !== this) queueMicrotask(() => peer.onmessage?.(new MessageEvent('message', { data: copy })));
    }
  }

  close(): void {
    FakeBroadcastChannel.#open.get(this.name)?.delete(this);
  }
}
