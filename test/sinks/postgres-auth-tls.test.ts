/**
 * Passwords and TLS against a server of the test's own (the shared one trusts
 * every local connection and has no TLS): a wrong password is named as such
 * and never shown, and sslmode keeps libpq's meaning.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresSink } from '../../src/sinks/postgres/index.js';
import { uniqueName } from '../support/databases.js';
import { startPrivateServer, type PrivateServer } from '../support/private-postgres.js';
import { sampleRows } from '../support/sample-rows.js';

const password = `right-${randomBytes(6).toString('hex')}`;
const server = await startPrivateServer(password);

describe.runIf(server !== undefined)('PostgresSink passwords and TLS', () => {
  const privateServer = server as PrivateServer;
  const sinks: PostgresSink[] = [];
  let admin: pg.Client;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: privateServer.url(password), ssl: false });
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(sinks.map((sink) => sink.close()));
    await admin?.end();
    await privateServer.stop();
  });

  function sinkAt(url: string): PostgresSink {
    const sink = new PostgresSink(url, { table: uniqueName('events'), poolSize: 1, createTable: true });
    sinks.push(sink);
    return sink;
  }

  /** Whether the sink's idle connection to the server is encrypted. */
  async function sinkUsesTls(): Promise<boolean> {
    const result = await admin.query<{ ssl: boolean }>(
      `SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
        WHERE a.application_name = 'llamonitor-otel' ORDER BY a.backend_start DESC LIMIT 1`,
    );
    return result.rows[0]?.ssl === true;
  }

  it('names a wrong password as the problem and never shows it', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const error = await sinkAt(privateServer.url(wrong))
      .prepare()
      .then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
    expect(error?.code).toBe('28P01');
    expect(error?.message).toMatch(
      /refused the password of user "postgres".*Fix the password in the connection URL/,
    );
    expect(error?.message).toContain('postgres:****@');
    expect(inspect(error, { depth: 5 })).not.toContain(wrong);
  });

  it('writes with the right password', async () => {
    const sink = sinkAt(privateServer.url(password, { search: '?sslmode=disable' }));
    await sink.prepare();
    await sink.write(sampleRows(3));
    expect(await sinkUsesTls()).toBe(false);
  });

  describe.runIf(privateServer?.caFile !== undefined)('with TLS on the server', () => {
    it('uses TLS under the default sslmode (prefer) when the server offers it', async () => {
      await sinkAt(privateServer.url(password)).prepare();
      expect(await sinkUsesTls()).toBe(true);
    });

    it('encrypts without checking the certificate under sslmode=require, as libpq does', async () => {
      await sinkAt(privateServer.url(password, { search: '?sslmode=require' })).prepare();
      expect(await sinkUsesTls()).toBe(true);
    });

    it('refuses a certificate it cannot verify under sslmode=verify-full and says to give sslrootcert', async () => {
      const sink = sinkAt(privateServer.url(password, { host: 'localhost', search: '?sslmode=verify-full' }));
      await expect(sink.prepare()).rejects.toThrow(
        /TLS certificate failed the sslmode=verify-full check.*sslrootcert/,
      );
    });

    it('verifies chain and host name under sslmode=verify-full with sslrootcert', async () => {
      const search = `?sslmode=verify-full&sslrootcert=${encodeURIComponent(privateServer.caFile as string)}`;
      await sinkAt(privateServer.url(password, { host: 'localhost', search })).prepare();
      expect(await sinkUsesTls()).toBe(true);
    });

    it('refuses under sslmode=verify-full a host name the certificate does not name', async () => {
      const search = `?sslmode=verify-full&sslrootcert=${encodeURIComponent(privateServer.caFile as string)}`;
      const sink = sinkAt(privateServer.url(password, { host: '127.0.0.1', search }));
      await expect(sink.prepare()).rejects.toThrow(/certificate does not name the host.*sslmode=verify-ca/);
    });

    it('checks the chain but not the host name under sslmode=verify-ca', async () => {
      const search = `?sslmode=verify-ca&sslrootcert=${encodeURIComponent(privateServer.caFile as string)}`;
      await sinkAt(privateServer.url(password, { host: '127.0.0.1', search })).prepare();
      expect(await sinkUsesTls()).toBe(true);
    });
  });
});
