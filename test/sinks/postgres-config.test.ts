/**
 * The URL's parameters keep libpq's meaning; every one is checked, and a wrong
 * one is named at start-up, never with the password. No server needed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { INDEXES } from '../../src/schema/columns.js';
import { postgresConnectionConfig } from '../../src/sinks/postgres/connection-config.js';
import { indexName } from '../../src/sinks/postgres/ddl.js';

const folder = mkdtempSync(join(tmpdir(), 'llamonitor-config-'));
const caFile = join(folder, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const config = (search = '', env: NodeJS.ProcessEnv = {}) =>
  postgresConnectionConfig(`postgres://app:s3cr%40t@db.example.com:6543/metrics${search}`, env);

describe('postgresConnectionConfig', () => {
  it('tries TLS without verification, then plain text, when no sslmode is given (libpq prefer)', () => {
    const { sslmode, tlsAttempts } = config();
    expect(sslmode).toBe('prefer');
    expect(tlsAttempts).toEqual([{ rejectUnauthorized: false }, false]);
  });

  it('connects in plain text only under sslmode=disable', () => {
    expect(config('?sslmode=disable').tlsAttempts).toEqual([false]);
  });

  it('tries plain text, then TLS, under sslmode=allow', () => {
    expect(config('?sslmode=allow').tlsAttempts).toEqual([false, { rejectUnauthorized: false }]);
  });

  it('encrypts without verifying under sslmode=require', () => {
    expect(config('?sslmode=require').tlsAttempts).toEqual([{ rejectUnauthorized: false }]);
  });

  it('checks the chain but not the host under sslmode=require with a root certificate, as libpq does', () => {
    const [attempt] = config(`?sslmode=require&sslrootcert=${caFile}`).tlsAttempts;
    expect(attempt).toMatchObject({ ca: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(attempt && attempt.rejectUnauthorized).not.toBe(false);
    expect(attempt && attempt.checkServerIdentity?.('db.example.com', {} as never)).toBeUndefined();
  });

  it('verifies chain and host under sslmode=verify-full, with the system CAs when no sslrootcert', () => {
    expect(config('?sslmode=verify-full').tlsAttempts).toEqual([{}]);
  });

  it('refuses sslmode=verify-ca without sslrootcert, saying what to give', () => {
    expect(() => config('?sslmode=verify-ca')).toThrow(/sslmode=verify-ca needs sslrootcert=/);
  });

  it("takes libpq's PGSSLMODE when the URL has no sslmode", () => {
    expect(config('', { PGSSLMODE: 'disable' }).sslmode).toBe('disable');
    expect(config('?sslmode=require', { PGSSLMODE: 'disable' }).sslmode).toBe('require');
  });

  it("reads pg's ssl=true as verify-full and ssl=no-verify as require", () => {
    expect(config('?ssl=true').sslmode).toBe('verify-full');
    expect(config('?ssl=no-verify').sslmode).toBe('require');
  });

  it('names an unknown sslmode and the allowed ones', () => {
    expect(() => config('?sslmode=always')).toThrow(ConfigError);
    expect(() => config('?sslmode=always')).toThrow(
      /sslmode=always is not allowed: use one of disable, allow, prefer, require, verify-ca, verify-full/,
    );
    expect(() => config('?ssl=maybe')).toThrow(/ssl=maybe is not allowed: use true, no-verify or false/);
    expect(() => config('', { PGSSLMODE: 'on' })).toThrow(/PGSSLMODE=on is not allowed/);
  });

  it('names the parameter and the file of an unreadable certificate', () => {
    expect(() => config(`?sslrootcert=${join(folder, 'missing.pem')}`)).toThrow(
      /cannot read sslrootcert=.*missing\.pem \(ENOENT\)/,
    );
  });

  it('refuses a parameter the sink would ignore, naming it and the closest one it knows', () => {
    expect(() => config('?schema=analytics')).toThrow(/unknown parameter schema \(did you mean/);
    expect(() => config('?sslmod=disable')).toThrow(
      /^unknown parameter sslmod \(did you mean sslmode\?\); a PostgreSQL URL takes sslmode, sslrootcert/,
    );
    expect(() => config('?connect_timeot=5')).toThrow(/did you mean connect_timeout\?/);
  });

  it.each([
    ['?port=99999', /port=99999 is not allowed: give a whole number from 1 to 65535/],
    ['?statement_timeout=soon', /statement_timeout=soon is not allowed: give a whole number of milliseconds/],
    ['?sslnegotiation=fast', /sslnegotiation=fast is not allowed: use 'postgres' or 'direct'/],
    ['?client_encoding=LATIN1', /client_encoding=LATIN1 is not allowed: the sink always speaks UTF8/],
    ['?uselibpqcompat=yes', /uselibpqcompat=yes is not allowed: use true or false/],
    ['?connect_timeout=-1', /connect_timeout=-1 is not allowed: give whole seconds/],
  ])('checks the value of every parameter it takes: %s', (search, message) => {
    expect(() => config(search)).toThrow(message);
  });

  it('takes the values pg and libpq take', () => {
    const { pool } = config(
      '?statement_timeout=5000&application_name=checkout&client_encoding=UTF8&port=7000',
    );
    expect(pool.connectionString).toContain('statement_timeout=5000');
  });

  it('never shows the password, in the target or in an error', () => {
    expect(config().target).toBe('postgres://app:****@db.example.com:6543/metrics');
    for (const search of ['?sslmode=always', '?sslmod=disable', '?port=x']) {
      expect(() => config(search)).toThrow(ConfigError);
      expect(() => config(search)).not.toThrow(/s3cr/);
    }
    expect(config().secrets).toEqual(expect.arrayContaining(['s3cr%40t', 's3cr@t']));
  });

  it('hands pg a URL without the TLS parameters, which pg would read its own way', () => {
    const { pool } = config(`?sslmode=require&sslrootcert=${caFile}&application_name=checkout`);
    expect(pool.connectionString).toBe(
      'postgres://app:s3cr%40t@db.example.com:6543/metrics?application_name=checkout',
    );
  });

  it('asks the server for UTF-8, keeping the options the URL gives', () => {
    const { pool } = config(`?options=${encodeURIComponent('-c search_path=analytics')}`);
    expect(pool.options).toBe('-c search_path=analytics -c client_encoding=UTF8');
    expect(pool.connectionString).not.toContain('options');
  });

  it("takes libpq's connect_timeout in seconds, at least 2, and waits 15 s without it", () => {
    expect(config('?connect_timeout=5').pool.connectionTimeoutMillis).toBe(5_000);
    expect(config('?connect_timeout=1').pool.connectionTimeoutMillis).toBe(2_000);
    expect(config().pool.connectionTimeoutMillis).toBe(15_000);
    expect(() => config('?connect_timeout=soon')).toThrow(/connect_timeout=soon is not allowed/);
  });

  it('accepts a Unix socket URL without a host, as node-postgres does', () => {
    const { pool } = postgresConnectionConfig('postgres://app@/metrics?host=/var/run/postgresql', {});
    expect(new URL(pool.connectionString as string).searchParams.get('host')).toBe('/var/run/postgresql');
  });

  it('leaves the pool size to the sink, which has the poolSize option', () => {
    expect(config().pool.max).toBeUndefined();
  });
});

describe('indexName', () => {
  it('keeps the index names of a 63-character table distinct and within 63 characters', () => {
    const table = 't'.repeat(63);
    const names = INDEXES.map((index) => indexName(table, index.suffix));
    expect(new Set(names).size).toBe(INDEXES.length);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(63);
  });
});
