// npm/README.md is the package's reference: every export, every method and property of
// `AuthClient`, every option, event and error code has its row there. The lists are read from
// the sources, so a new export or code without its row fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const source = (file: string) => readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const reference = readme.slice(readme.indexOf('\n## Reference'));

/** The body of `interface name { ... }` in `text`, members only (nested doc comments removed). */
function interfaceBody(text: string, name: string): string {
  const start = text.indexOf(`export interface ${name} {`);
  expect(start, `interface ${name}`).toBeGreaterThanOrEqual(0);
  let depth = 0;
  for (let i = text.indexOf('{', start); i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    if (text[i] === '}' && --depth === 0) return text.slice(text.indexOf('{', start) + 1, i).replace(/\/\*\*[\s\S]*?\*\//g, '');
  }
  throw new Error(`unterminated interface ${name}`);
}

/** Member names declared at the top level of an interface body (`name(`, `name:`, `readonly name:`). */
function members(body: string): string[] {
  return [...body.matchAll(/^ {2}(?:readonly )?([a-zA-Z]+)\??[(:]/gm)].map((m) => m[1]!);
}

/** The rows of the reference's tables (their first cells) and its headings, without backticks. */
const firstCells = new Set(
  [...reference.matchAll(/^(?:\| *([^|]+?) *\||### `([^`]+)`)/gm)]
    .flatMap((m) => (m[1] ?? m[2])!.split(',').map((c) => c.replace(/`/g, '').trim())),
);
const rowFor = (name: string) => [...firstCells].some((c) => c === name || c.startsWith(`${name}(`));

describe('npm/README.md reference', () => {
  it('has a row for every export of the package', () => {
    const exported = [...source('api.ts').matchAll(/^export (?:type )?\{([^}]+)\}/gm)]
      .flatMap((m) => m[1]!.split(',').map((n) => n.trim()))
      .filter(Boolean);
    expect(exported.length).toBeGreaterThan(15);
    expect(exported.filter((name) => !rowFor(name))).toEqual([]);
  });

  it('has a row for every method and property of AuthClient', () => {
    const names = members(interfaceBody(source('client.ts'), 'AuthClient'));
    expect(names).toContain('login');
    expect(names).toContain('claims');
    expect(names.filter((name) => !rowFor(name))).toEqual([]);
  });

  it('has a row for every option of createAuthClient', () => {
    const names = members(interfaceBody(source('client.ts'), 'AuthClientOptions'));
    expect(names).toContain('apiOrigins');
    expect(names.filter((name) => !rowFor(name))).toEqual([]);
  });

  it('has a row for every event type and sign-out reason', () => {
    const events = [...source('events.ts').matchAll(/\| \{ type: '([a-z_]+)'/g)].map((m) => m[1]!);
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.filter((type) => !rowFor(type))).toEqual([]);
    const reasons = /export type SignOutReason = ([^;]+);/.exec(source('events.ts'))![1]!.match(/'[a-z_]+'/g)!.map((r) => r.slice(1, -1));
    const eventsSection = reference.slice(reference.indexOf('### Events'), reference.indexOf('### Errors'));
    expect(reasons.filter((reason) => !eventsSection.includes(`\`${reason}\``))).toEqual([]);
  });

  it('has a row for every error code, with its HTTP status', () => {
    const codes = [.../export type AuthErrorCode =([^;]+);/.exec(source('errors.ts'))![1]!.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(25);
    const rows = new Map([...reference.matchAll(/^\| `([a-z_]+)` \| (\d{1,3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
    expect(codes.filter((code) => !rows.has(code))).toEqual([]);
    expect([...rows.keys()].filter((code) => !codes.includes(code as never))).toEqual([]);
    // The statuses are the Rust core's (`ErrorCode::http_status`), the one source.
    const rust = readFileSync(new URL('../../crates/core/src/error.rs', import.meta.url), 'utf8');
    const statusFn = rust.slice(rust.indexOf('pub const fn http_status'), rust.indexOf('\n    }\n', rust.indexOf('pub const fn http_status')));
    const snake = (camel: string) => camel.replace(/[A-Z]/g, (c, i) => (i ? '_' : '') + c.toLowerCase());
    const statuses = new Map(
      [...statusFn.matchAll(/((?:\|?\s*ErrorCode::[A-Za-z]+\s*)+)=> (\d+)/g)].flatMap((m) =>
        [...m[1]!.matchAll(/ErrorCode::([A-Za-z]+)/g)].map((c) => [snake(c[1]!), Number(m[2])] as const)),
    );
    expect(statuses.size).toBe(codes.length);
    expect([...rows].filter(([code, status]) => statuses.get(code) !== status)).toEqual([]);
  });
});
