/**
 * TLS against a real server. The shared test server has no TLS, so this file
 * starts a private MariaDB with TLS on a port of its own (test/support/mariadb-tls.sh,
 * in a temporary folder) and stops it afterwards. LLAMONITOR_TEST_MYSQL_TLS_URL,
 * _CA and _OTHER_CA point the tests at another TLS server instead. Without
 * MariaDB's programs on this machine the tests skip; with CI=true a server
 * that cannot be started is a failure.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { ConfigError } from '../../src/errors.js';
import { MySqlSink, parseMySqlUrl } from '../../src/sinks/mysql/index.js';
import { openPool } from '../../src/sinks/mysql/pool.js';
import { uniqueName } from '../support/databases.js';
import { REPO } from '../support/child-process.js';
import { chatRow } from './mysql-support.js';

const execFileAsync = promisify(execFile);
const SCRIPT = join(REPO, 'test/support/mariadb-tls.sh');
const PROGRAMS = ['/usr/sbin/mariadbd', 'mariadb-install-db', 'mariadb-admin', 'mariadb', 'openssl'];
const inCi = process.env.CI === 'true' || process.env.CI === '1';

interface TlsServer {
  readonly url: string;
  readonly ca: string;
  readonly otherCa: string;
  /** Stops the server this file started; nothing for one given by the environment. */
  readonly stop: () => Promise<void>;
}

/** A port no one listens on now, for the private server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function missingPrograms(): Promise<string[]> {
  const found = await Promise.all(
    PROGRAMS.map((program) =>
      execFileAsync('bash', ['-c', 'command -v "$1"', 'bash', program]).then(
        () => true,
        () => false,
      ),
    ),
  );
  return PROGRAMS.filter((_, i) => !found[i]);
}

/** Starts the private TLS server through the script and reads the variables it prints. */
async function startPrivateServer(): Promise<TlsServer> {
  const folder = await mkdtemp(join(tmpdir(), 'llamonitor-mariadb-tls-'));
  const env = {
    ...process.env,
    LLAMONITOR_TEST_MYSQL_TLS_DIR: folder,
    LLAMONITOR_TEST_MYSQL_TLS_PORT: String(await freePort()),
  };
  const stop = async () => {
    await execFileAsync('bash', [SCRIPT, 'stop'], { env, timeout: 60_000 });
    await rm(folder, { recursive: true, force: true });
  };
  try {
    const { stdout } = await execFileAsync('bash', [SCRIPT], { env, timeout: 60_000 });
    const printed = Object.fromEntries(
      [...stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]),
    );
    return {
      url: printed.LLAMONITOR_TEST_MYSQL_TLS_URL as string,
      ca: printed.LLAMONITOR_TEST_MYSQL_TLS_CA as string,
      otherCa: printed.LLAMONITOR_TEST_MYSQL_TLS_OTHER_CA as string,
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    const detail = (error as { stderr?: string }).stderr || (error as Error).message;
    throw new Error(`test/support/mariadb-tls.sh could not start a MariaDB with TLS: ${detail.trim()}`);
  }
}

/** The server the tests use, or undefined (they skip) when this machine cannot run one outside CI. */
async function tlsServer(): Promise<TlsServer | undefined> {
  const { LLAMONITOR_TEST_MYSQL_TLS_URL: url, LLAMONITOR_TEST_MYSQL_TLS_CA: ca } = process.env;
  const otherCa = process.env.LLAMONITOR_TEST_MYSQL_TLS_OTHER_CA;
  if (url && ca && otherCa) return { url, ca, otherCa, stop: async () => {} };
  try {
    const missing = await missingPrograms();
    if (missing.length > 0) {
      throw new Error(
        `this machine lacks ${missing.join(', ')} (install mariadb-server and openssl), and ` +
          'LLAMONITOR_TEST_MYSQL_TLS_URL, _CA and _OTHER_CA do not name another TLS server',
      );
    }
    // Another program may take the free port before the server binds it: one more try on another.
    return await startPrivateServer().catch(() => startPrivateServer());
  } catch (error) {
    if (inCi) throw new Error(`CI=true and the MySQL TLS tests cannot run: ${(error as Error).message}`);
    console.warn(`skipping MySQL TLS tests: ${(error as Error).message}`);
    return undefined;
  }
}

const server = await tlsServer();
// File-level, so that it runs after the tests' own clean-up, whatever that did.
afterAll(async () => {
  await server?.stop();
});
const TLS_URL = server?.url;
const CA = server?.ca;
const OTHER_CA = server?.otherCa;

/** The TLS test URL with these query parameters. */
function tlsUrl(params: string): string {
  return `${TLS_URL}?${params}`;
}

describe.skipIf(!server)('MySqlSink over TLS', () => {
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
