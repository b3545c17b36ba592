/**
 * Failures a user meets first: a missing database, a missing permission, an
 * unreachable server, TLS the server lacks. Each error says what failed and
 * what to do, and never shows the password.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { PostgresSink } from '../../src/sinks/postgres/index.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { useOwnSchema } from './postgres-support.js';
import { sampleRows } from '../support/sample-rows.js';

const available = await postgresAvailable();

/** POSTGRES_URL with another user, password or database. */
function urlWith(parts: { user?: string; password?: string; database?: string; search?: string }): string {
  const url = new URL(POSTGRES_URL);
  if (parts.user !== undefined) url.username = parts.user;
  if (parts.password !== undefined) url.password = encodeURIComponent(parts.password);
  if (parts.database !== undefined) url.pathname = `/${parts.database}`;
  if (parts.search !== undefined) url.search = parts.search;
  return url.toString();
}

/** The error `promise` rejects with, checked never to show `password`, however it is printed. */
async function failure(promise: Promise<unknown>, password: string): Promise<Error & { code?: string }> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error & { code?: string },
  );
  expect(error.message).not.toContain(password);
  expect(inspect(error, { depth: 5 })).not.toContain(password);
  return error;
}

describe.runIf(available)('PostgresSink errors', () => {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const role = uniqueName('llamonitor_role');
  const db = useOwnSchema();

  const sinkFor = (url: string, table: string, createTable = true) => {
    const sink = new PostgresSink(url, { table, schema: db.schema, poolSize: 1, createTable });
    db.sinks.push(sink);
    return sink;
  };

  beforeAll(async () => {
    // A role with a password and no privileges but USAGE on the schema: it can see tables, not write them.
    await db.admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await db.admin.query(`GRANT USAGE ON SCHEMA ${db.schema} TO ${role}`);
  });

  afterAll(async () => {
    // Runs before useOwnSchema's cleanup (hooks unwind in reverse): DROP OWNED revokes the role's grants.
    await Promise.all(db.sinks.map((sink) => sink.close()));
    await db.admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
    await db.admin.query(`DROP ROLE IF EXISTS ${role}`);
  });

  it('names a missing database and says to create it or fix the URL', async () => {
    const database = uniqueName('no_such_db');
    const url = urlWith({ password, database });
    const error = await failure(sinkFor(url, 'metric_events').prepare(), password);
    expect(error.code).toBe('3D000');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`database "${database}" does not exist`);
    expect(error.message).toMatch(/Create it, or fix the database name in the URL/);
    expect(error.message).toContain(':****@');
  });

  it('says which permission is missing to create the table, with the GRANT that gives it', async () => {
    const url = urlWith({ user: role, password });
    const error = await failure(sinkFor(url, uniqueName('events')).prepare(), password);
    expect(error.code).toBe('42501');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`permission denied for schema ${db.schema}`);
    expect(error.message).toContain(`GRANT USAGE, CREATE ON SCHEMA ${db.schema} TO ${role}`);
  });

  it('fails at start-up on a table the user may not insert into, with the GRANT that fixes it', async () => {
    const table = uniqueName('events');
    await sinkFor(POSTGRES_URL, table).prepare();
    const error = await failure(sinkFor(urlWith({ user: role, password }), table).prepare(), password);
    expect(error.code).toBe('42501');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`GRANT INSERT ON "${db.schema}"."${table}" TO ${role}`);
  });

  it('fails a write the server refuses for lack of permission, naming the table', async () => {
    const table = uniqueName('events');
    await sinkFor(POSTGRES_URL, table).prepare();
    const error = await failure(
      sinkFor(urlWith({ user: role, password }), table).write(sampleRows(3)),
      password,
    );
    expect(error.code).toBe('42501');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(`permission denied for table ${table}`);
  });

  it('writes once the missing INSERT is granted', async () => {
    const table = uniqueName('events');
    await sinkFor(POSTGRES_URL, table).prepare();
    await db.admin.query(`GRANT INSERT ON "${db.schema}"."${table}" TO ${role}`);
    const sink = sinkFor(urlWith({ user: role, password }), table, false);
    await sink.prepare();
    const rows = sampleRows(5);
    await sink.write(rows);
    await sink.write(rows); // the conflict path needs only TEMPORARY, which PUBLIC has by default
  });

  it('says a server is unreachable and to check host and port', async () => {
    const url = urlWith({ password }).replace(/:\d+\//, ':1/');
    const error = await failure(sinkFor(url, 'metric_events').prepare(), password);
    expect(error.message).toMatch(/cannot reach PostgreSQL at .*:1\/.*host and port/);
  });

  it('says TLS is missing on the server when sslmode=require demands it', async () => {
    const url = urlWith({ password, search: '?sslmode=require' });
    const error = await failure(sinkFor(url, 'metric_events').prepare(), password);
    expect(error.message).toMatch(/does not accept TLS, which sslmode=require demands/);
  });

  it('falls back to plain text under sslmode=prefer when the server has no TLS', async () => {
    const ssl = await db.admin.query<{ ssl: string }>('SHOW ssl');
    if (ssl.rows[0]?.ssl === 'on') return; // this server has TLS: nothing to fall back from
    const sink = sinkFor(urlWith({ search: '?sslmode=prefer' }), uniqueName('events'));
    await expect(sink.prepare()).resolves.toBeUndefined();
  });
});
