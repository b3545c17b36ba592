/**
 * A password in a database URL, whatever characters it holds, is either read
 * as its writer meant or refused at construction, and no part of it is ever
 * shown. Each password is two random words around the characters that break
 * URLs (`/ @ : % # ? &`, a space, `%zz`, non-ASCII); "no part shown" means
 * neither word appears. No server needed: real servers are in passwords.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { parse as parsePgUrl } from 'pg-connection-string';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { resolveOptions } from '../../src/config/options.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { maskUrl, redactSecrets, secretsOfUrl } from '../../src/secrets.js';
import { mySqlSink } from '../../src/sinks/mysql/definition.js';
import { postgresSink } from '../../src/sinks/postgres/definition.js';

/** A word of letters that are not hex digits, so that a `%` before it is never read as an escape. */
function word(): string {
  return [...randomBytes(8)].map((b) => 'ghijklmnopqrstuvwxyz'[b % 20]).join('');
}

const MIDDLES = ['/', '@', ':', '%', '#', '?', '&', ' ', '%zz', 'ü€漢🦙', '/ @:%#?&'];
/** Each password, and the words any part of it shown would reveal. */
const PASSWORDS = [
  ...MIDDLES.map((middle) => ({ middle, first: word(), last: word() })),
  // Digits first: the WHATWG parser takes `5432/...` or `12#...` for a port and parses, misreading the URL.
  { middle: '/', first: '5432', last: word() },
  { middle: '#', first: '12', last: word() },
  { middle: '?', first: '99', last: word() },
].map(({ middle, first, last }) => ({
  password: `${first}${middle}${last}`,
  words: /^\d+$/.test(first) ? [last] : [first, last],
}));

const SCHEMES = [
  { scheme: 'postgres', port: 5432, definition: postgresSink },
  { scheme: 'mysql', port: 3306, definition: mySqlSink },
] as const;

/** What the driver would log in with, read from the checked target as the driver reads it. */
function passwordTheDriverGets(scheme: string, url: string): string | undefined {
  if (scheme === 'postgres') {
    const { connectionString } = postgresSink.parseTarget(url).config.pool;
    return parsePgUrl(connectionString as string).password;
  }
  return mySqlSink.parseTarget(url).config.options.password;
}

function expectNoPart(text: string, words: readonly string[]): void {
  for (const part of words) expect(text.includes(part), `"${part}" shown in: ${text}`).toBe(false);
}

/** The message of what `work` throws, which must be a ConfigError. */
function refusal(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError, but it was accepted');
}

describe.each(SCHEMES)('a password in a $scheme:// URL', ({ scheme, port }) => {
  describe.each(PASSWORDS)('$password', ({ password, words }) => {
    const raw = `${scheme}://app:${password}@127.0.0.1:${port}/metrics`;
    const encoded = `${scheme}://app:${encodeURIComponent(password)}@127.0.0.1:${port}/metrics`;

    it('written as it is, is read as meant or refused at construction, naming the problem and not the password', () => {
      let message: string | undefined;
      try {
        resolveOptions({ url: raw });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      if (message === undefined) {
        expect(passwordTheDriverGets(scheme, raw)).toBe(password);
      } else {
        expect(message).toMatch(/^url=\S+:\/\/app:\*\*\*\*@127\.0\.0\.1:\d+\/metrics is not allowed: /);
        expect(message).toMatch(/percent-encode the user name and password \(encodeURIComponent/);
        expectNoPart(message, words);
      }
      // Accepted or not, what is shown of it holds no part of the password.
      expectNoPart(maskUrl(raw), words);
    });

    it('percent-encoded, is read as meant and shown masked', () => {
      const { target } = resolveOptions({ url: encoded });
      expect(passwordTheDriverGets(scheme, encoded)).toBe(password);
      expect(target.display).toBe(`${scheme}://app:****@127.0.0.1:${port}/metrics`);
    });

    it('is kept out of the construction errors of the exporter, from code and from the environment', () => {
      for (const url of [raw, encoded]) {
        const bad = `${url}?sslmod=disable`;
        const fromCode = refusal(() => new MetricEventsSpanExporter({ url: bad }));
        const fromEnv = refusal(() => MetricEventsSpanExporter.fromEnv({}, { LLAMONITOR_URL: bad }));
        expect(fromCode).toMatch(/^url=/);
        expect(fromEnv).toMatch(/^LLAMONITOR_URL=/);
        expectNoPart(fromCode + fromEnv, words);
      }
      const fromCode = refusal(() => new MetricEventsSpanExporter({ url: `${encoded}?sslmod=disable` }));
      expect(fromCode).toMatch(/unknown parameter sslmod \(did you mean ssl-?mode\?\)/);
    });

    it('is redacted from any message in every form a driver or server could echo', () => {
      const { target } = resolveOptions({ url: encoded });
      const forms = [password, encodeURIComponent(password), new URL(encoded).password, encoded];
      const redacted = redactSecrets(`login failed: ${forms.join(' | ')}`, target.secrets);
      expectNoPart(redacted, words);
      expect(redacted).toContain('****');
    });
  });
});

describe('maskUrl', () => {
  it.each([
    ['postgres://postgres:pa/ss@127.0.0.1:5432/db', 'postgres://postgres:****@127.0.0.1:5432/db'],
    ['mysql://root:p@ss#w?rd@db:3306/m', 'mysql://root:****@db:3306/m'],
    ['postgres://app:x@db/m?sslpassword=hunter2&sslmode=require', 'postgres://app:****@db/m?sslpassword=****&sslmode=require'],
    ['postgres://app@db/m?password=hunter2', 'postgres://app@db/m?password=****'],
    ['postgres://app@db/m', 'postgres://app@db/m'],
    ['./llamonitor-data', './llamonitor-data'],
  ])('masks %s as %s', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  }); // prettier-ignore

  it('gives every form of the password to redact: as written, decoded, and encoded both ways', () => {
    expect(secretsOfUrl('postgres://app:a%20b%40c@db/m')).toEqual(
      expect.arrayContaining(['a%20b%40c', 'a b@c', 'a%20b%40c']),
    );
    expect(secretsOfUrl('postgres://app:it%27s@db/m')).toEqual(expect.arrayContaining(["it's", 'it%27s']));
  });

  it('redacts the longest form first, so that no part of a longer one is left', () => {
    expect(redactSecrets('p%40ss and p@ss', ['p@ss', 'p%40ss'])).toBe('**** and ****');
  });
});
