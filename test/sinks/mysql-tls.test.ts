/**
 * TLS against a real server. Needs a MariaDB with TLS, which the shared test
 * server lacks: test/support/mariadb-tls.sh starts one and prints the variables
 * that enable these tests; without them the tests skip.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { ConfigError } from '../../src/errors.js';
import { MySqlSink, parseMySqlUrl } from '../../src/sinks/mysql/index.js';
import { openPool } from '../../src/sinks/mysql/pool.js';
import { uniqueName } from '../support/databases.js';
import { chatRow } from './mysql-support.js';

const TLS_URL = process.env.LLAMONITOR_TEST_MYSQL_TLS_URL;
const CA = process.env.LLAMONITOR_TEST_MYSQL_TLS_CA;
const OTHER_CA = process.env.LLAMONITOR_TEST_MYSQL_TLS_OTHER_CA;
if (!TLS_URL)
  console.warn('skipping MySQL TLS tests: run test/support/mariadb-tls.sh and export what it prints');

/** The TLS test URL with these query parameters. */
function tlsUrl(params: string): string {
  return `${TLS_URL}?${params}`;
}

describe.skipIf(!TLS_URL || !CA || !OTHER_CA)('MySqlSink over TLS', () => {
  const table = uniqueName('mysql_tls');
  const sinks: MySqlSink[] = [];

  function sink(params: string): MySqlSink {
    const made = new MySqlSink(tlsUrl(params), { table, poolSize: 1, createTable: true });
    sinks.push(made);
    return made;
  }

  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    const { pool } = await openPool(parseMySqlUrl(tlsUrl(`ssl-mode=required`)), 1);
    await pool.query(`DROP TABLE IF EXISTS \`${table}\``);
    await pool.end();
  });

  it('encrypts the connection for ssl-mode=verify_identity with the CA', async () => {
    const { pool, tls } = await openPool(parseMySqlUrl(tlsUrl(`ssl-mode=verify_identity&ssl-ca=${CA}`)), 1);
    const [rows] = await pool.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
    await pool.end();
    expect(tls).toBe(true);
    expect(String(rows[0]?.Value)).not.toBe('');
  });

  it('writes rows through LOAD DATA as a user that the server admits only over TLS', async () => {
    const verified = sink(`ssl-mode=verify_identity&ssl-ca=${CA}`);
    await verified.prepare();
    await expect(verified.write([chatRow(), chatRow()])).resolves.toBeUndefined();
    expect(verified.path).toBe('load-data');
  });

  it('refuses a server whose certificate another CA signed, saying how to fix it', async () => {
    const error = await sink(`ssl-mode=verify_ca&ssl-ca=${OTHER_CA}`)
      .prepare()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/TLS certificate did not verify.*give its CA with ssl-ca/);
  });

  it('encrypts without verifying for ssl-mode=required', async () => {
    await expect(sink('ssl-mode=required').checkHealth()).resolves.toBeUndefined();
  });

  it('uses TLS for ssl-mode=preferred when the server offers it', async () => {
    const { pool, tls } = await openPool(parseMySqlUrl(tlsUrl('ssl-mode=preferred')), 1);
    await pool.end();
    expect(tls).toBe(true);
  });

  it('is refused, password hidden, when TLS is off for a user that requires it', async () => {
    const error = await sink('ssl-mode=disabled')
      .checkHealth()
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/refused the login/);
    const password = decodeURIComponent(new URL(TLS_URL as string).password);
    expect((error as Error).message).not.toContain(password);
  });
});
