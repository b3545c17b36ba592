import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { OPTION_SPECS, resolveOptions } from '../../src/config/options.js';
import { REPO } from '../support/child-process.js';

describe('options from the environment', () => {
  it('fills every documented default when nothing is set', () => {
    const options = resolveOptions({}, {});
    expect(options).toMatchObject({
      url: './llamonitor-data',
      table: 'metric_events',
      schema: undefined,
      poolSize: 4,
      spans: 'llm',
      captureContent: false,
      createTable: true,
      spillDir: './llamonitor-spill',
      exportTimeoutMillis: 30_000,
      maxInflightBytes: 67_108_864,
      spillMaxBytes: 1_073_741_824,
      parquetFileRows: 100_000,
      parquetFileAgeMillis: 60_000,
      fileMode: 'private',
      maxMeasuredBytes: 1_048_576,
      warnings: true,
    });
    expect(options.target.kind).toBe('parquet');
  });

  it('reads each LLAMONITOR_* variable', () => {
    const options = resolveOptions(
      {},
      {
        LLAMONITOR_URL: 'postgres://u:p@db.internal:5432/metrics',
        LLAMONITOR_TABLE: 'llm_events',
        LLAMONITOR_SCHEMA: 'observability',
        LLAMONITOR_POOL_SIZE: '8',
        LLAMONITOR_SPANS: 'all',
        LLAMONITOR_CAPTURE_CONTENT: 'true',
        LLAMONITOR_CREATE_TABLE: '0',
        LLAMONITOR_SPILL_DIR: '/var/spool/llm',
        LLAMONITOR_EXPORT_TIMEOUT_MS: '5000',
        LLAMONITOR_SHUTDOWN_TIMEOUT_MS: '2000',
        LLAMONITOR_MAX_INFLIGHT_BYTES: '1048576',
        LLAMONITOR_SPILL_MAX_BYTES: '2097152',
        LLAMONITOR_PARQUET_FILE_ROWS: '50000',
        LLAMONITOR_PARQUET_FILE_AGE_MS: '1000',
        LLAMONITOR_FILE_MODE: 'group',
        LLAMONITOR_MAX_MEASURED_BYTES: '65536',
        LLAMONITOR_WARNINGS: 'off',
      },
    );
    expect(options).toMatchObject({
      table: 'llm_events',
      schema: 'observability',
      poolSize: 8,
      spans: 'all',
      captureContent: true,
      createTable: false,
      spillDir: '/var/spool/llm',
      exportTimeoutMillis: 5000,
      shutdownTimeoutMillis: 2000,
      maxInflightBytes: 1_048_576,
      spillMaxBytes: 2_097_152,
      parquetFileRows: 50_000,
      parquetFileAgeMillis: 1000,
      fileMode: 'group',
      maxMeasuredBytes: 65_536,
      warnings: false,
    });
    expect(options.target).toMatchObject({
      kind: 'postgres',
      display: 'postgres://u:****@db.internal:5432/metrics',
    });
  });

  it('lets options given in code win over the environment', () => {
    expect(resolveOptions({ poolSize: 2 }, { LLAMONITOR_POOL_SIZE: '9' }).poolSize).toBe(2);
  });

  it.each([
    ['LLAMONITOR_URL', 'mongodb://u:secret@host/db', /LLAMONITOR_URL=mongodb:\/\/u:\*\*\*\*@host\/db is not allowed: unknown scheme 'mongodb:'; use postgres:\/\/, postgresql:\/\/, mysql:\/\/, mariadb:\/\/, file:\/\/ or a plain path/],
    ['LLAMONITOR_SPANS', 'some', /LLAMONITOR_SPANS=some is not allowed: use 'llm' or 'all'/],
    ['LLAMONITOR_POOL_SIZE', '-3', /LLAMONITOR_POOL_SIZE=-3 is not allowed: use a whole number from 1 to 1000/],
    ['LLAMONITOR_POOL_SIZE', '2.5', /LLAMONITOR_POOL_SIZE=2.5 is not allowed/],
    ['LLAMONITOR_TABLE', 'metric_events; drop table x', /LLAMONITOR_TABLE=metric_events; drop table x is not allowed: use 1 to 63 letters, digits and underscores/],
    ['LLAMONITOR_SCHEMA', 'a.b', /LLAMONITOR_SCHEMA=a.b is not allowed/],
    ['LLAMONITOR_CAPTURE_CONTENT', 'maybe', /LLAMONITOR_CAPTURE_CONTENT=maybe is not allowed: use true or false/],
    ['LLAMONITOR_EXPORT_TIMEOUT_MS', '10', /LLAMONITOR_EXPORT_TIMEOUT_MS=10 is not allowed: use a whole number from 100/],
  ])('refuses %s=%s with a message naming the variable, the value and what is allowed', (variable, value, message) => {
    expect(() => resolveOptions({}, { [variable]: value })).toThrow(ConfigError);
    expect(() => resolveOptions({}, { [variable]: value })).toThrow(message);
  }); // prettier-ignore

  it('names the option, not the variable, for a bad value given in code', () => {
    expect(() => resolveOptions({ poolSize: 0 })).toThrow(/^poolSize=0 is not allowed/);
  });

  it('never shows the password of a refused URL', () => {
    try {
      resolveOptions({}, { LLAMONITOR_URL: 'redis://admin:hunter2@cache:6379' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('maps file:// URLs and plain paths to the Parquet sink and mariadb:// to the MySQL sink', () => {
    expect(resolveOptions({ url: 'file:///var/lib/llm' }).target).toMatchObject({
      kind: 'parquet',
      directory: '/var/lib/llm',
    });
    expect(resolveOptions({ url: '/data/llm' }).target).toMatchObject({
      kind: 'parquet',
      directory: '/data/llm',
    });
    expect(resolveOptions({ url: 'mariadb://root:pw@h/db' }).target).toMatchObject({
      kind: 'mysql',
      display: 'mariadb://root:****@h/db',
    });
  });

  it('are each documented in the README table, in order, with their variable', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const documented = readme
      .split('\n')
      .map((line) => /^\| `(LLAMONITOR_[A-Z_]+)` \| `(\w+)` \|/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1], match[2]]);
    expect(documented).toEqual(OPTION_SPECS.map((spec) => [spec.env, spec.key]));
  });

  it('declares one environment variable per option, each named LLAMONITOR_*', () => {
    const names = OPTION_SPECS.map((s) => s.env);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n.startsWith('LLAMONITOR_'))).toBe(true);
  });
});
