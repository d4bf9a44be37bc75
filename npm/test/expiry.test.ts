import { describe, expect, it } from 'vitest';
import { ClockSkew, isExpired, refreshDelayMs, secondsLeft } from '../src/expiry.js';
import { retryDelayMs, RETRY_MAX_MS } from '../src/schedule.js';

const T = 1_767_225_600; // 2026-01-01T00:00:00Z, in seconds
const T_MS = T * 1000;

describe('expiry arithmetic (the Rust core through wasm)', () => {
  it('refreshes a 15-minute token at 80 % of its lifetime, a 4-second one at half-life', () => {
    expect(refreshDelayMs(T, T + 900, T_MS, 0)).toBe(720_000);
    expect(refreshDelayMs(T, T + 120, T_MS, 0)).toBe(90_000);
    expect(refreshDelayMs(T, T + 4, T_MS, 0)).toBe(2_000);
    expect(refreshDelayMs(T, T + 4, T_MS + 5_000, 0)).toBe(0);
  });

  it('jitter moves the moment earlier, within 10 % of the lifetime', () => {
    const delays = [0, 2 ** 28, 2 ** 31, 2 ** 32 - 1].map((j) => refreshDelayMs(T, T + 900, T_MS, 0, j));
    expect(delays[0]).toBe(720_000);
    expect(Math.min(...delays)).toBeGreaterThan(720_000 - 60_000);
    expect(new Set(delays).size).toBe(4);
  });

  it('applies the skew to every decision', () => {
    const fast = 600_000; // local clock ten minutes ahead of the server
    expect(refreshDelayMs(T, T + 900, T_MS + fast, -fast)).toBe(720_000);
    expect(secondsLeft(T + 900, T_MS + fast, -fast)).toBe(900);
    expect(isExpired(T + 900, T_MS + fast, -fast)).toBe(false);
    expect(isExpired(T + 900, T_MS + fast, 0)).toBe(false);
    expect(isExpired(T + 900, T_MS + fast + 899_999, -fast)).toBe(false);
    expect(isExpired(T + 900, T_MS + fast + 900_000, -fast)).toBe(true);
    expect(isExpired(T + 900, T_MS + fast + 899_000, -fast, -1_000)).toBe(true);
  });
});

describe('ClockSkew', () => {
  it('is zero and unknown before any observation', () => {
    const skew = new ClockSkew();
    expect(skew.offsetMs).toBe(0);
    expect(skew.range).toBeUndefined();
  });

  it('bounds the offset from a Date header and the round trip, and narrows with samples', () => {
    const skew = new ClockSkew();
    const truth = -600_000; // server = local - 10 min
    for (const phase of [300, 950, 20]) {
      const serverExact = T_MS + 7_000 + phase;
      const sent = serverExact - truth - 20;
      skew.observe(serverExact - (serverExact % 1000), 1000, sent, sent + 40);
      const r = skew.range!;
      expect(r.low).toBeLessThanOrEqual(truth);
      expect(r.high).toBeGreaterThanOrEqual(truth);
    }
    expect(Math.abs(skew.offsetMs - truth)).toBeLessThan(100);
  });

  it('merges another tab\'s range exactly and ignores unparseable dates', () => {
    const skew = new ClockSkew();
    skew.merge({ low: 100, high: 300 });
    expect(skew.range).toEqual({ low: 100, high: 300 });
    skew.merge({ low: 200, high: 900 });
    expect(skew.range).toEqual({ low: 200, high: 300 });
    skew.observe(Date.parse('not a date'), 1000, 0, 10);
    expect(skew.offsetMs).toBe(250);
  });
});

describe('retryDelayMs', () => {
  it.each([
    [0, undefined, 0, 500],
    [0, undefined, 1, 1_000],
    [3, undefined, 1, 8_000],
    [20, undefined, 1, RETRY_MAX_MS],
    [20, undefined, 0, RETRY_MAX_MS / 2],
    [0, 30, 0.5, 30_000],
  ])('attempt %i, Retry-After %s, random %s: %i ms', (attempt, retryAfter, random, expected) => {
    expect(retryDelayMs(attempt, retryAfter, random)).toBe(expected);
  });
});
