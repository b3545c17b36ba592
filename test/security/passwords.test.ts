/**
 * A password never appears in a log line, an error or the CLI's output: every
 * failure an outage can bring (a wrong password, a server away, a connection
 * cut mid-batch, a silent network, a missing database, a spill that fails too)
 * is provoked with a password in the URL, everything that comes out is kept
 * (diag at every level, export results and thrown errors with their causes,
 * spill files, the CLI's stdout and stderr), and the password is looked for in
 * it, raw and URL-encoded.
 *
 * PostgreSQL: a private server of this test's own (the shared one trusts every
 * local connection, so no password is ever checked). MySQL: a user of this
 * test's own on the shared server, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { ExportResult } from '@opentelemetry/core';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { runCli } from '../support/child-process.js';
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

/** URL-encoded in the URL, as a user writes it. */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

interface Server {
  readonly name: string;
  /** A URL with the right password, straight to the server. */
  readonly url: string;
  readonly stop: () => Promise<void>;
}

const privatePostgres: PrivateServer | undefined = await startPrivateServer(PASSWORD);
const mysqlUp = await mysqlAvailable();
const mysqlUser = uniqueName('pw');

const SERVERS: { name: string; start: () => Promise<Server> }[] = [
  ...(privatePostgres
    ? [
        {
          name: 'PostgreSQL (a private server)',
          start: async () => ({
            name: 'PostgreSQL',
            url: privatePostgres.url(PASSWORD),
            stop: () => privatePostgres.stop(),
          }),
        },
      ]
    : []),
  ...(mysqlUp
    ? [
        {
          name: 'MySQL (a user of its own)',
          start: async () => {
            const admin = await mysql.createConnection(MYSQL_URL);
            await admin.query(`CREATE USER ?@'%' IDENTIFIED BY ?`, [mysqlUser, PASSWORD]);
            await admin.query(`GRANT ALL ON \`test\`.* TO ?@'%'`, [mysqlUser]);
            await admin.end();
            const url = new URL(MYSQL_URL);
            url.username = mysqlUser;
            return {
              name: 'MySQL',
              url: withPassword(url.toString(), PASSWORD),
              stop: async () => {
                const cleanup = await mysql.createConnection(MYSQL_URL);
                await cleanup.query(`DROP USER IF EXISTS ?@'%'`, [mysqlUser]);
                await cleanup.end();
              },
            };
          },
        },
      ]
    : []),
];

describe.runIf(SERVERS.length > 0).each(SERVERS)('the password of $name under failures', ({ start }) => {
  let server: Server;
  let proxy: TcpProxy;
  const output: string[] = [];
  const tables: string[] = [];
  let logs: ReturnType<typeof captureDiag>;
  const spills: Awaited<ReturnType<typeof tempSpillDir>>[] = [];

  beforeAll(async () => {
    server = await start();
    const target = new URL(server.url);
    proxy = await TcpProxy.start(target.hostname, Number(target.port));
    logs = captureDiag();
  });
  afterAll(async () => {
    logs.stop();
    await proxy.stop();
    for (const spill of spills) await spill.remove();
    // PostgreSQL's tables go with its private server; MySQL's are dropped here.
    if (server?.name === 'MySQL') {
      const admin = await mysql.createConnection(MYSQL_URL);
      for (const table of tables) await admin.query(`DROP TABLE IF EXISTS \`${table}\``);
      await admin.end();
    }
    await server?.stop();
  });

  /** An exporter through the proxy with `password`; everything it says or throws is kept. */
  async function exportThrough(
    password: string,
    options: { database?: string; spillDir?: string; before?: () => void | Promise<unknown> } = {},
  ): Promise<ExportResult> {
    const spill = await tempSpillDir();
    spills.push(spill);
    let url = withPassword(proxy.url(server.url), password);
    if (options.database) url = withDatabase(url, options.database);
    const table = uniqueName('pw');
    tables.push(table);
    const exporter = new MetricEventsSpanExporter(
      {
        url,
        table,
        spillDir: options.spillDir ?? spill.dir,
        exportTimeoutMillis: 1_500,
        shutdownTimeoutMillis: 1_000,
      },
      {},
      { replayIntervalMillis: 100 },
    );
    await exporter.ready().catch((error: unknown) => output.push(inspect(error, { depth: 10 })));
    await options.before?.();
    const result = await new Promise<ExportResult>((resolve) => exporter.export(finishedSpans(300), resolve));
    output.push(inspect(result, { depth: 10 }));
    await exporter.shutdown();
    for (const name of readdirSync(spill.dir).filter((n) => n.startsWith('spill-')))
      output.push(readFileSync(join(spill.dir, name), 'utf8').split('\n', 1)[0] as string);
    return result;
  }

  it('keeps it out of everything said about a wrong password', async () => {
    await proxy.pass();
    await exportThrough(WRONG_PASSWORD);
  });

  it('keeps it out of everything said about a server that refuses connections', async () => {
    await proxy.close();
    await exportThrough(PASSWORD);
    await proxy.pass();
  });

  it('keeps it out of everything said about a connection cut mid-batch', async () => {
    await proxy.pass();
    await exportThrough(PASSWORD, { before: () => void proxy.cutAfterClientBytes(20_000) });
  });

  it('keeps it out of everything said about a silent network', async () => {
    await proxy.pass();
    await exportThrough(PASSWORD, { before: () => proxy.blackhole() });
    await proxy.pass();
  });

  it('keeps it out of everything said about a missing database', async () => {
    await proxy.pass();
    await exportThrough(PASSWORD, { database: uniqueName('nodb') });
  });

  it('keeps it out of a failed export whose spill failed too', async () => {
    await proxy.close();
    const holder = await tempSpillDir();
    spills.push(holder);
    const blocker = join(holder.dir, 'a-file');
    writeFileSync(blocker, '');
    const result = await exportThrough(PASSWORD, { spillDir: join(blocker, 'spill') });
    expect(result.error?.message).toMatch(/spilling them to .* failed too/);
    await proxy.pass();
  });

  it('keeps it out of the CLI: doctor, migrate and replay, passing and failing', async () => {
    await proxy.pass();
    const right = withPassword(proxy.url(server.url), PASSWORD);
    const wrong = withPassword(proxy.url(server.url), WRONG_PASSWORD);
    const table = uniqueName('pw_cli');
    tables.push(table);
    const spill = await tempSpillDir();
    spills.push(spill);
    const runs = [
      await runCli(['doctor'], { LLAMONITOR_URL: wrong, LLAMONITOR_TABLE: table }),
      await runCli(['migrate', '--url', right, '--table', table]),
      await runCli(['doctor', '--url', right, '--table', table]),
      await runCli(['doctor', '--url', withDatabase(right, uniqueName('nodb')), '--table', table]),
    ];
    // Something to replay, then a replay while the server is away.
    const exporter = new MetricEventsSpanExporter({
      url: right,
      table,
      spillDir: spill.dir,
      exportTimeoutMillis: 500,
    });
    await proxy.close();
    await new Promise((resolve) => exporter.export(finishedSpans(5), resolve));
    await exporter.shutdown();
    runs.push(await runCli(['replay', '--url', right, '--table', table, '--spill-dir', spill.dir]));
    runs.push(await runCli(['migrate'], { LLAMONITOR_URL: right, LLAMONITOR_TABLE: table }));
    await proxy.pass();
    runs.push(await runCli(['replay', '--url', wrong, '--table', table, '--spill-dir', spill.dir]));
    runs.push(await runCli(['replay', '--url', right, '--table', table, '--spill-dir', spill.dir]));
    for (const run of runs) output.push(run.stdout, run.stderr);
    expect(runs.map((r) => r.code)).toEqual([1, 0, 0, 1, 1, 1, 1, 0]);
  });

  it('was found in none of it, which shows the masked URL instead', () => {
    const everything = [...output, ...logs.logs.map((l) => `${l.level} ${l.message}`)].join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    expect(everything).toMatch(/:\*\*\*\*@127\.0\.0\.1/);
    for (const secret of SECRETS) expect(everything.includes(secret), `found ${secret}`).toBe(false);
  });
});
