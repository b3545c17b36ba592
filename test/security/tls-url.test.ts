/**
 * TLS options in the URL reach the driver, seen on the wire: the proxy in
 * front of the shared servers (which offer no TLS) records what each client
 * says first. PostgreSQL's client opens with an SSLRequest exactly when the
 * sslmode asks for TLS first; a MySQL URL that requires TLS is refused by the
 * driver, saying why, when the server offers none.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
/** A StartupMessage for protocol 3.0: length, then 0x00030000. */
const isStartup = (head: Buffer) => head.length >= 8 && head.readUInt32BE(4) === 0x0003_0000;
const opensWith = (head: Buffer) =>
  head.subarray(0, 8).equals(SSL_REQUEST) ? 'TLS' : isStartup(head) ? 'plain' : 'nothing';

const created: { url: string; table: string }[] = [];

/** `ready` once the exporter connected and made its table, else why not. */
async function readiness(url: string): Promise<string> {
  const table = uniqueName('tls');
  const exporter = new MetricEventsSpanExporter({ url, table });
  try {
    await exporter.ready();
    created.push({ url, table });
    return 'ready';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await exporter.shutdown();
  }
}

afterAll(async () => {
  for (const { url, table } of created) {
    if (url.startsWith('postgres')) {
      const client = new pg.Client(POSTGRES_URL);
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.end();
    } else {
      const connection = await mysql.createConnection(MYSQL_URL);
      await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
      await connection.end();
    }
  }
});

describe.runIf(await postgresAvailable())('sslmode in a PostgreSQL URL', () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await TcpProxy.forUrl(POSTGRES_URL);
  });
  afterEach(() => proxy.stop());

  const withMode = (mode: string) => `${proxy.url(POSTGRES_URL)}?sslmode=${mode}`;

  it('disable: every connection opens in plain text', async () => {
    expect(await readiness(withMode('disable'))).toBe('ready');
    expect(proxy.clientHeads.map(opensWith)).not.toContain('TLS');
    expect(proxy.clientHeads.map(opensWith)).toContain('plain');
  });

  it('prefer (the default): asks for TLS first, then goes on in plain text when the server has none', async () => {
    expect(await readiness(proxy.url(POSTGRES_URL))).toBe('ready');
    expect(proxy.clientHeads.map(opensWith).slice(0, 2)).toEqual(['TLS', 'plain']);
  });

  it('require: asks for TLS, and refuses to go on without it', async () => {
    expect(await readiness(withMode('require'))).toMatch(
      /does not accept TLS, which sslmode=require demands/,
    );
    expect(proxy.clientHeads.map(opensWith)).toEqual(expect.arrayContaining(['TLS']));
    expect(proxy.clientHeads.map(opensWith)).not.toContain('plain');
  });

  it('verify-full: asks for TLS, and refuses to go on without it', async () => {
    expect(await readiness(withMode('verify-full'))).toMatch(/does not accept TLS/);
    expect(proxy.clientHeads.map(opensWith)).not.toContain('plain');
  });
});

describe.runIf(await mysqlAvailable())('ssl-mode in a MySQL URL', () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await TcpProxy.forUrl(MYSQL_URL);
  });
  afterEach(() => proxy.stop());

  it('required: the driver refuses a server without TLS, and says so', async () => {
    expect(await readiness(`${proxy.url(MYSQL_URL)}?ssl-mode=required`)).toMatch(
      /offers no TLS, but ssl-mode=required requires it/,
    );
    expect(proxy.accepted).toBeGreaterThan(0);
  });

  it('preferred goes on without TLS, disabled never asks', async () => {
    expect(await readiness(`${proxy.url(MYSQL_URL)}?ssl-mode=preferred`)).toBe('ready');
    expect(await readiness(`${proxy.url(MYSQL_URL)}?ssl-mode=disabled`)).toBe('ready');
  });
});
