/**
 * A password never appears in a log line, an error or the CLI's output.
 *
 * First, every failure an outage can bring (a wrong password, a server away, a
 * connection cut mid-batch, a silent network, a missing database, a spill that
 * fails too) is provoked with a password in the URL; everything that comes out
 * is kept (diag at every level, the console, export results and thrown errors
 * with their causes, spill files, the CLI's stdout and stderr) and the password
 * is looked for in it, raw and URL-encoded.
 *
 * Then a table of passwords holding the characters that break URLs (`/ @ : % #
 * ? &`, a space, `%zz`, non-ASCII), each two random words around them, goes
 * through construction, failing writes (retry, "sink is failing" and "spilled"
 * warnings, the spill file on disk) and the built CLI's migrate and doctor, run
 * as child processes against the real servers; neither word may appear
 * anywhere. Written unencoded, a password is either refused at construction or
 * read as meant: doctor then logs in with it.
 *
 * PostgreSQL: a private server of this test's own (the shared one trusts every
 * local connection, so no password is ever checked). MySQL: users of this
 * test's own on the shared server, in the database LLAMONITOR_TEST_MYSQL_URL
 * names, dropped afterwards. Every wait has a bound (the export and shutdown
 * deadlines, the CLI's 60 s); tests assert what was written and said, never how
 * long it took.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { runCli, type Finished } from '../support/child-process.js';
import { MYSQL_URL, mysqlAvailable, uniqueName } from '../support/databases.js';
import { captureDiag } from '../support/diag-capture.js';
import { startPrivateServer, type PrivateServer } from '../support/private-postgres.js';
import { finishedSpans } from '../support/spans.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { tempSpillDir } from '../faults/fault-support.js';

/** Characters a URL must encode, so that the raw and the encoded forms differ. */
const PASSWORD = `S3cr3t-p@ss/${randomBytes(4).toString('hex')}#`;
const WRONG_PASSWORD = `Wr0ng-p@ss/${randomBytes(4).toString('hex')}#`;
const SECRETS = [PASSWORD, WRONG_PASSWORD].flatMap((p) => [p, encodeURIComponent(p)]);

/** A word of letters that are not hex digits, so that a `%` before it is never read as an escape. */
function word(): string {
  return [...randomBytes(8)].map((b) => 'ghijklmnopqrstuvwxyz'[b % 20]).join('');
}

/** The table of passwords: `first<middle>last`; showing any part of one shows one of its words. */
const PASSWORD_TABLE = ['/', '@', ':', '%', '#', '?', '&', ' ', '%zz', 'ü€漢🦙', '/ @:%#?&'].map((middle) => {
  const words = [word(), word()] as const;
  return { middle, password: `${words[0]}${middle}${words[1]}`, words };
});
const EVERY_WORD = PASSWORD_TABLE.flatMap((entry) => entry.words);

/** The database LLAMONITOR_TEST_MYSQL_URL names, which need not be `test`. */
const MYSQL_DATABASE = decodeURIComponent(new URL(MYSQL_URL).pathname.slice(1));

/** `url` with this user and password, URL-encoded as a user should write them. */
function withLogin(url: string, password: string, user?: string): string {
  const parsed = new URL(url);
  if (user !== undefined) parsed.username = user;
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/** `url` with this user and the password written as it is, unencoded, as a user may write it. */
function withRawLogin(url: string, password: string, user: string): string {
  const { protocol, host, pathname } = new URL(url);
  return `${protocol}//${user}:${password}@${host}${pathname}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Everything the process writes to stderr (the package's console warnings go there), until stopped. */
function captureStderr(): { text: () => string; stop: () => void } {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  return { text: () => chunks.join(''), stop: () => void (process.stderr.write = write) };
}

/** Every file in the spill folder and below, whole: headers and rows. */
function spillFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'));
}

/** The CLI as a child process, which must end with `code`; the message says what it printed when not. */
async function cli(args: readonly string[], env: Record<string, string>, code: number): Promise<Finished> {
  const run = await runCli(args, env);
  const said = `llamonitor ${args[0]} printed:\n${run.stdout}${run.stderr}`;
  expect(run.signal, `llamonitor ${args[0]} did not end within 60 s and was killed. ${said}`).toBeNull();
  expect(run.code, said).toBe(code);
  return run;
}

/** A login of the test's own for `password`, with its rights on the server's test database. */
type CreateLogin = (user: string, password: string) => Promise<void>;

interface Server {
  readonly name: string;
  /** A URL with the right password, straight to the server. */
  readonly url: string;
  readonly createLogin: CreateLogin;
  readonly dropTable: (table: string) => Promise<void>;
  readonly stop: () => Promise<void>;
}

const privatePostgres: PrivateServer | undefined = await startPrivateServer(PASSWORD);
const mysqlUp = await mysqlAvailable();

function postgresServer(server: PrivateServer): Server {
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client(server.url(PASSWORD));
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  return {
    name: 'PostgreSQL',
    url: server.url(PASSWORD),
    createLogin: (user, password) =>
      admin(async (c) => void (await c.query(`CREATE ROLE ${c.escapeIdentifier(user)} LOGIN SUPERUSER PASSWORD ${c.escapeLiteral(password)}`))),
    // Its tables go with the private server.
    dropTable: async () => undefined,
    stop: () => server.stop(),
  }; // prettier-ignore
}

function mysqlServer(): Server {
  const users: string[] = [];
  const admin = async <T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> => {
    const connection = await mysql.createConnection(MYSQL_URL);
    try {
      return await work(connection);
    } finally {
      await connection.end();
    }
  };
  const createLogin: CreateLogin = (user, password) =>
    admin(async (c) => {
      await c.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
      users.push(user);
      await c.query(`GRANT ALL ON \`${MYSQL_DATABASE}\`.* TO ?@'%'`, [user]);
    });
  const mainUser = uniqueName('pw');
  return {
    name: 'MySQL',
    url: withLogin(MYSQL_URL, PASSWORD, mainUser),
    createLogin,
    dropTable: (table) => admin(async (c) => void (await c.query(`DROP TABLE IF EXISTS \`${table}\``))),
    stop: () => admin(async (c) => void (await Promise.all(users.map((u) => c.query(`DROP USER IF EXISTS ?@'%'`, [u]))))),
  }; // prettier-ignore
}

const SERVERS: { name: string; start: () => Promise<Server> }[] = [
  ...(privatePostgres
    ? [{ name: 'PostgreSQL (a private server)', start: async () => postgresServer(privatePostgres) }]
    : []),
  ...(mysqlUp
    ? [
        {
          name: 'MySQL (users of its own)',
          start: async () => {
            const server = mysqlServer();
            await server.createLogin(new URL(server.url).username, PASSWORD);
            return server;
          },
        },
      ]
    : []),
];

describe.runIf(SERVERS.length > 0).each(SERVERS)('the password of $name', ({ start }) => {
  let server: Server;
  /** In front of the server; each test sets what it lets through. */
  let proxy: TcpProxy;
  let logs: ReturnType<typeof captureDiag>;
  let stderr: ReturnType<typeof captureStderr>;
  const tables: string[] = [];
  const spills: Awaited<ReturnType<typeof tempSpillDir>>[] = [];

  beforeAll(async () => {
    server = await start();
    const target = new URL(server.url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port));
    logs = captureDiag();
    stderr = captureStderr();
  });
  afterAll(async () => {
    stderr?.stop();
    logs?.stop();
    await proxy?.stop();
    for (const spill of spills) await spill.remove();
    for (const table of tables) await server?.dropTable(table);
    await server?.stop();
  });

  async function newSpillDir(): Promise<string> {
    const spill = await tempSpillDir();
    spills.push(spill);
    return spill.dir;
  }

  function newTable(prefix: string): string {
    const table = uniqueName(prefix);
    tables.push(table);
    return table;
  }

  /** What the package said in diag and on the console since `from` (a mark from `mark()`). */
  const mark = () => ({ logs: logs.logs.length, stderr: stderr.text().length });
  const saidSince = (from: ReturnType<typeof mark>) =>
    [
      ...logs.logs.slice(from.logs).map((l) => `${l.level} ${l.message}`),
      stderr.text().slice(from.stderr),
    ].join('\n');

  describe('under failures', () => {
    const output: string[] = [];

    /** An exporter through the proxy with `password`; everything it says or throws is kept. */
    async function exportThrough(
      password: string,
      options: { database?: string; spillDir?: string; before?: () => void | Promise<unknown> } = {},
    ): Promise<ExportResult> {
      const spillDir = await newSpillDir();
      let url = withLogin(proxy.url(server.url), password);
      if (options.database) url = withDatabase(url, options.database);
      const exporter = new MetricEventsSpanExporter(
        {
          url,
          table: newTable('pw'),
          spillDir: options.spillDir ?? spillDir,
          exportTimeoutMillis: 1_500,
          shutdownTimeoutMillis: 1_000,
        },
        {},
        { replayIntervalMillis: 100 },
      );
      await exporter.ready().catch((error: unknown) => output.push(inspect(error, { depth: 10 })));
      await options.before?.();
      const result = await new Promise<ExportResult>((resolve) =>
        exporter.export(finishedSpans(300), resolve),
      );
      output.push(inspect(result, { depth: 10 }));
      await exporter.shutdown();
      output.push(...spillFiles(spillDir));
      return result;
    }

    it('keeps it out of everything said about a wrong password', async () => {
      await proxy.pass();
      await exportThrough(WRONG_PASSWORD);
    });

    it('keeps it out of everything said about a server that refuses connections', async () => {
      await proxy.close();
      const result = await exportThrough(PASSWORD);
      expect(result.code, 'the rows were spilled').toBe(ExportResultCode.SUCCESS);
    });

    it('keeps it out of everything said about a connection cut mid-batch', async () => {
      await proxy.pass();
      await exportThrough(PASSWORD, { before: () => void proxy.cutAfterClientBytes(20_000) });
    });

    it('keeps it out of everything said about a silent network', async () => {
      await proxy.pass();
      await exportThrough(PASSWORD, { before: () => proxy.blackhole() });
    });

    it('keeps it out of everything said about a missing database', async () => {
      await proxy.pass();
      await exportThrough(PASSWORD, { database: uniqueName('nodb') });
    });

    it('keeps it out of a failed export whose spill failed too', async () => {
      await proxy.close();
      const holder = await newSpillDir();
      const blocker = join(holder, 'a-file');
      writeFileSync(blocker, '');
      const result = await exportThrough(PASSWORD, { spillDir: join(blocker, 'spill') });
      expect(result.error?.message).toMatch(/spilling them to .* failed too/);
    });

    describe('in the CLI, passing and failing', () => {
      const right = () => withLogin(proxy.url(server.url), PASSWORD);
      const wrong = () => withLogin(proxy.url(server.url), WRONG_PASSWORD);
      const table = uniqueName('pw_cli');
      let spillDir: string;
      const keep = (run: Finished) => output.push(run.stdout, run.stderr);

      beforeAll(async () => {
        tables.push(table);
        spillDir = await newSpillDir();
        await proxy.pass();
      });

      it('doctor with a wrong password fails', async () => {
        keep(await cli(['doctor'], { LLAMONITOR_URL: wrong(), LLAMONITOR_TABLE: table }, 1));
      });

      it('migrate, then doctor, pass', async () => {
        keep(await cli(['migrate', '--url', right(), '--table', table], {}, 0));
        keep(await cli(['doctor', '--url', right(), '--table', table], {}, 0));
      });

      it('doctor of a missing database fails', async () => {
        const nodb = withDatabase(right(), uniqueName('nodb'));
        keep(await cli(['doctor', '--url', nodb, '--table', table], {}, 1));
      });

      it('replay and migrate fail while the server is away, and replay stores the spill once it is back', async () => {
        const exporter = new MetricEventsSpanExporter({ url: right(), table, spillDir, exportTimeoutMillis: 500 });
        await proxy.close();
        const result = await new Promise<ExportResult>((resolve) => exporter.export(finishedSpans(5), resolve));
        await exporter.shutdown();
        expect(result.code, 'the rows were spilled').toBe(ExportResultCode.SUCCESS);
        expect(spillFiles(spillDir), 'one spill file holds the rows').toHaveLength(1);
        const replay = (url: string) => ['replay', '--url', url, '--table', table, '--spill-dir', spillDir];
        keep(await cli(replay(right()), {}, 1));
        keep(await cli(['migrate'], { LLAMONITOR_URL: right(), LLAMONITOR_TABLE: table }, 1));
        await proxy.pass();
        keep(await cli(replay(wrong()), {}, 1));
        const stored = await cli(replay(right()), {}, 0);
        keep(stored);
        expect(stored.stdout).toMatch(/^replayed 5 rows from 1 files/);
      }); // prettier-ignore
    });

    it('was found in none of it, which shows the masked URL instead', () => {
      const everything = [...output, ...logs.logs.map((l) => `${l.level} ${l.message}`), stderr.text()].join(
        '\n',
      );
      // Each kind of output was there to look at: errors, write warnings, spill files, the CLI's reports.
      expect(everything).toMatch(/write of 300 rows failed/);
      expect(everything).toMatch(/spilled 300 rows|300 rows spilled/);
      expect(everything).toMatch(/"format":/);
      expect(everything).toMatch(/\[ok\] {3}the table and its indexes are ready/);
      expect(everything).toMatch(/:\*\*\*\*@127\.0\.0\.1/);
      for (const secret of SECRETS) expect(everything.includes(secret), `found ${secret}`).toBe(false);
    });
  });

  describe.each(PASSWORD_TABLE)('holding "$middle"', ({ middle, password, words }) => {
    const user = uniqueName('pwt');
    const table = newTable('pwt');
    let said: string[];

    beforeAll(async () => {
      said = [];
      await server.createLogin(user, password);
    });

    it('percent-encoded, is kept out of what migrate and doctor print', async () => {
      await proxy.pass();
      const url = withLogin(proxy.url(server.url), password, user);
      for (const args of [['migrate'], ['doctor']]) {
        const run = await cli(args, { LLAMONITOR_URL: url, LLAMONITOR_TABLE: table }, 0);
        expect(run.stdout).toContain(`${user}:****@127.0.0.1`);
        said.push(run.stdout, run.stderr);
      }
    });

    it('written unencoded, is refused at construction or read as meant; doctor then logs in with it', async () => {
      await proxy.pass();
      const raw = withRawLogin(proxy.url(server.url), password, user);
      const refusal = (url: string) =>
        Promise.resolve()
          .then(async () => new MetricEventsSpanExporter({ url, spillDir: await newSpillDir() }).shutdown())
          .then(() => undefined, (error: unknown) => error);
      const refused = await refusal(raw);
      if (refused !== undefined) {
        expect(refused).toBeInstanceOf(ConfigError);
        said.push(inspect(refused, { depth: 10 }));
      }
      // Other mistakes in the same URL are refused too, the password kept out of what they say.
      for (const bad of [`${raw}?sslmod=disable`, raw.replace(/:\d+\//, ':99999/')]) {
        const error = await refusal(bad);
        expect(error, 'a bad parameter or port is refused').toBeInstanceOf(ConfigError);
        said.push(inspect(error, { depth: 10 }));
      }
      // doctor, on the table migrate made, passes only when the URL was read as meant; one refusal is enough to see.
      if (refused === undefined || middle === '/ @:%#?&') {
        const doctor = await cli(['doctor'], { LLAMONITOR_URL: raw, LLAMONITOR_TABLE: table }, refused === undefined ? 0 : 1);
        said.push(doctor.stdout, doctor.stderr);
        if (refused !== undefined) expect(doctor.stdout).toMatch(/^\[fail\] configuration: LLAMONITOR_URL=.* percent-encode/);
      }
    }); // prettier-ignore

    it('percent-encoded, is kept out of the warnings of failing writes and of the spill file', async () => {
      await proxy.close();
      const from = mark();
      const spillDir = await newSpillDir();
      const exporter = new MetricEventsSpanExporter(
        { url: withLogin(proxy.url(server.url), password, user), table, spillDir, exportTimeoutMillis: 500 },
        {},
        { replayIntervalMillis: 100 },
      );
      const result = await new Promise<ExportResult>((resolve) =>
        exporter.export(finishedSpans(20), resolve),
      );
      await exporter.shutdown();
      expect(result.code, 'the rows were spilled').toBe(ExportResultCode.SUCCESS);
      const files = spillFiles(spillDir);
      expect(files, 'one spill file holds the rows').toHaveLength(1);
      const warnings = saidSince(from);
      expect(warnings).toMatch(/write of 20 rows failed/);
      expect(warnings).toMatch(/spilled 20 rows|20 rows spilled/);
      // The spill file's reason names the sink, its URL masked.
      expect([warnings, ...files].join('\n')).toContain(`${user}:****@127.0.0.1`);
      said.push(warnings, inspect(result, { depth: 10 }), ...files);
    });

    it('shows no part of it anywhere', () => {
      const everything = said.join('\n');
      expect(everything).toContain(':****@');
      for (const part of words) expect(everything.includes(part), `"${part}" shown`).toBe(false);
    });
  });

  it('showed no part of any password of the table in diag or on the console', () => {
    const everything = [...logs.logs.map((l) => l.message), stderr.text()].join('\n');
    for (const part of EVERY_WORD) expect(everything.includes(part), `"${part}" shown`).toBe(false);
  });
});
