/**
 * The URL's parameters keep libpq's meaning; a wrong one is named at start-up,
 * never with the password. No server needed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INDEXES } from '../../src/schema/columns.js';
import { postgresConnectionConfig } from '../../src/sinks/postgres/connection-config.js';
import { indexName } from '../../src/sinks/postgres/ddl.js';

const folder = mkdtempSync(join(tmpdir(), 'llamonitor-config-'));
const caFile = join(folder, 'ca.pem');
writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const config = (search = '', env: NodeJS.ProcessEnv = {}) =>
  postgresConnectionConfig(`postgres://app:s3cr%40t@db.example.com:6543/metrics${search}`, 4, env);

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
    expect(() => config('?sslmode=verify-ca')).toThrow(/sslmode=verify-ca .* needs sslrootcert=/);
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
    expect(() => config('?sslmode=always')).toThrow(
      /invalid sslmode "always" .*disable, allow, prefer, require, verify-ca, verify-full/,
    );
  });

  it('names the parameter and the file of an unreadable certificate', () => {
    expect(() => config(`?sslrootcert=${join(folder, 'missing.pem')}`)).toThrow(
      /cannot read sslrootcert=.*missing\.pem/,
    );
  });

  it('refuses a parameter the sink would ignore, naming it', () => {
    expect(() => config('?schema=analytics')).toThrow(/parameter the sink does not know: schema/);
  });

  it('never shows the password, in the target or in an error', () => {
    expect(config().target).toBe('postgres://app:****@db.example.com:6543/metrics');
    expect(() => config('?sslmode=always')).toThrow(/app:\*\*\*\*@/);
    try {
      config('?sslmode=always');
    } catch (error) {
      expect((error as Error).message).not.toMatch(/s3cr/);
    }
    expect(config().secrets).toEqual(['s3cr@t']);
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
    expect(() => config('?connect_timeout=soon')).toThrow(/invalid connect_timeout "soon"/);
  });

  it('accepts a Unix socket URL without a host, as node-postgres does', () => {
    const { pool } = postgresConnectionConfig('postgres://app@/metrics?host=/var/run/postgresql', 1, {});
    expect(new URL(pool.connectionString as string).searchParams.get('host')).toBe('/var/run/postgresql');
  });

  it('sizes the pool from the poolSize option', () => {
    expect(config().pool.max).toBe(4);
  });
});

describe('indexName', () => {
  it('keeps the six index names of a 63-character table distinct and within 63 characters', () => {
    const table = 't'.repeat(63);
    const names = INDEXES.map((index) => indexName(table, index.suffix));
    expect(new Set(names).size).toBe(6);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(63);
  });
});
