/**
 * What a user reads when the MySQL sink cannot work: what failed, what to do,
 * the URL masked, and never the password.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { LlamonitorError, type ErrorKind } from '../../src/errors.js';
import { MySqlSink } from '../../src/sinks/mysql/index.js';
import { mysqlAvailable, uniqueName } from '../support/databases.js';
import { chatRow, countRows, mysqlUrl, openInspector } from './mysql-support.js';

const available = await mysqlAvailable();

/** The rejection of `work`, which must be a LlamonitorError of `kind`. */
async function failureOf(
  work: Promise<unknown>,
  kind: ErrorKind = 'configuration',
): Promise<LlamonitorError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LlamonitorError);
  expect((error as LlamonitorError).kind).toBe(kind);
  return error as LlamonitorError;
}

describe.skipIf(!available)('MySqlSink errors', () => {
  let inspector: mysql.Connection;
  const sinks: MySqlSink[] = [];
  const user = uniqueName('llm');
  // Characters a URL must encode, so that both the raw and the encoded forms are looked for.
  const password = `Pw@${randomBytes(6).toString('hex')}/#`;
  const table = uniqueName('mysql_granted');
  const { hostname, port, pathname } = new URL(mysqlUrl());
  // The database LLAMONITOR_TEST_MYSQL_URL names, which need not be `test`.
  const configured = decodeURIComponent(pathname.slice(1));

  function urlFor(secret: string, database = configured, params = ''): string {
    return `mysql://${user}:${encodeURIComponent(secret)}@${hostname}:${port || 3306}/${database}${params ? `?${params}` : ''}`;
  }

  /** The test server's URL (as root) with another database. */
  function withDatabase(database: string): string {
    const url = new URL(mysqlUrl());
    url.pathname = `/${database}`;
    return url.toString();
  }

  function sink(url: string, name = table): MySqlSink {
    const made = new MySqlSink(url, { table: name, poolSize: 1, createTable: true });
    sinks.push(made);
    return made;
  }

  function expectNoSecret(error: Error): void {
    expect(error.message).not.toContain(password);
    expect(error.message).not.toContain(encodeURIComponent(password));
  }

  beforeAll(async () => {
    inspector = await openInspector();
    await new MySqlSink(mysqlUrl(), { table, poolSize: 1, createTable: true })
      .prepare()
      .catch(() => undefined);
    await inspector.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
    // Enough to write rows into one existing table, not to create tables.
    await inspector.query(`GRANT SELECT, INSERT ON \`${configured}\`.\`${table}\` TO ?@'%'`, [user]);
  });

  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    await inspector?.query(`DROP USER IF EXISTS ?@'%'`, [user]);
    await inspector?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await inspector?.end();
  });

  it('writes with SELECT and INSERT on an existing table only', async () => {
    const granted = sink(urlFor(password));
    await granted.prepare();
    await granted.write([chatRow(), chatRow()]);
    expect(await countRows(inspector, table)).toBe(2);
  });

  it('says a wrong password was refused, without showing it', async () => {
    const wrong = `${password}-wrong`;
    const error = await failureOf(sink(urlFor(wrong)).prepare());
    expect(error.message).toMatch(/refused the login.*check the user name and password/);
    expect(error.message).toContain(`mysql://${user}:****@`);
    expect(error.message).not.toContain(wrong);
    expect(error.message).not.toContain(encodeURIComponent(wrong));
    expectNoSecret(error);
    expect(error.code).toBe('ER_ACCESS_DENIED_ERROR');
  });

  it('says an unknown database does not exist and how to create it', async () => {
    const database = uniqueName('nodb');
    const error = await failureOf(sink(withDatabase(database)).prepare());
    expect(error.message).toContain(`database \`${database}\` does not exist`);
    expect(error.message).toContain(`CREATE DATABASE \`${database}\``);
  });

  it('says a user may not use a database, which may also not exist, without showing the password', async () => {
    const error = await failureOf(sink(urlFor(password, uniqueName('nodb'))).prepare());
    expect(error.message).toMatch(/may not use database .*, or it does not exist/);
    expectNoSecret(error);
  });

  it('names the missing privilege and the GRANT that gives it, without showing the password', async () => {
    const error = await failureOf(sink(urlFor(password), uniqueName('mysql_denied')).prepare());
    expect(error.message).toMatch(/CREATE command denied/);
    expect(error.message).toContain(`GRANT SELECT, INSERT, CREATE ON \`${configured}\`.* TO '${user}'`);
    expectNoSecret(error);
  });

  it('says which address cannot be reached', async () => {
    const error = await failureOf(
      sink(`mysql://root:hunter2hunter2@127.0.0.1:1/${configured}`).checkHealth(),
      'connection',
    );
    expect(error.message).toMatch(/cannot reach the server at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    expect(error.message).not.toContain('hunter2hunter2');
  });

  it('says the server offers no TLS when ssl-mode=required', async () => {
    const [rows] = await inspector.query<mysql.RowDataPacket[]>('SELECT @@have_ssl AS tls');
    if (rows[0]?.tls === 'YES') return; // this proof needs a server without TLS
    const error = await failureOf(sink(mysqlUrl('ssl-mode=required')).prepare());
    expect(error.message).toMatch(/offers no TLS, but ssl-mode=required requires it/);
  });

  it('goes on without TLS when ssl-mode=preferred and the server offers none', async () => {
    const preferred = sink(mysqlUrl('ssl-mode=preferred'));
    await expect(preferred.checkHealth()).resolves.toBeUndefined();
  });
});
