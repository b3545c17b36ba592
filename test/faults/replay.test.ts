/**
 * Replay against the real servers: the background replay of a running
 * exporter, and `llamonitor replay` into another sink than the one that spilled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/child-process.js';
import { mysqlAvailable, postgresAvailable, uniqueName } from '../support/databases.js';
import { finishedSpans } from '../support/spans.js';
import {
  faultExporter,
  faultFixture,
  MYSQL,
  POSTGRES,
  TcpProxy,
  tempSpillDir,
  waitFor,
  type FaultDatabase,
} from './fault-support.js';

const postgres = await postgresAvailable();
const mysql = await mysqlAvailable();
const databases: FaultDatabase[] = [...(postgres ? [POSTGRES] : []), ...(mysql ? [MYSQL] : [])];

function exported(
  exporter: { export: (s: never[], cb: (r: { code: number }) => void) => void },
  spans: unknown[],
) {
  return new Promise<number>((resolve) => exporter.export(spans as never[], (r) => resolve(r.code)));
}

describe.runIf(databases.length > 0).each(databases)('replay into $name', (database) => {
  const fx = faultFixture(database);

  it('by an exporter that started while the server was away: it creates the table and replays its spill, no further export needed', async () => {
    await fx.proxy.close();
    const { exporter, table } = faultExporter(database, fx.proxy, {
      spillDir: fx.spill.dir,
      exportTimeoutMillis: 1_000,
    });
    fx.tables.push(table);
    const spans = finishedSpans(30);
    expect(await exported(exporter, spans)).toBe(0);
    expect(await fx.spill.files()).toHaveLength(1);
    await fx.proxy.pass();
    await waitFor('the spill to be replayed', async () => (await fx.spill.files()).length === 0, 10_000);
    const stored = await fx.inspector.storedSpanIds(table);
    await exporter.shutdown();
    expect(stored.sort()).toEqual(spans.map((s) => s.spanContext().spanId).sort());
  });
});

describe.runIf(postgres && mysql)('llamonitor replay', () => {
  let proxy: TcpProxy;
  let spill: Awaited<ReturnType<typeof tempSpillDir>>;
  const table = uniqueName('replayed_elsewhere');

  beforeEach(async () => {
    proxy = await TcpProxy.forUrl(POSTGRES.url);
    spill = await tempSpillDir();
  });
  afterEach(async () => {
    await proxy.stop();
    const inspector = await MYSQL.open();
    await inspector.dropTable(table);
    await inspector.end();
    await spill.remove();
  });

  it('restores into MySQL a spill taken while PostgreSQL was away, and empties the folder', async () => {
    await proxy.close();
    const { exporter } = faultExporter(POSTGRES, proxy, { spillDir: spill.dir, exportTimeoutMillis: 500 });
    const first = finishedSpans(10);
    const second = finishedSpans(5);
    expect(await exported(exporter, first)).toBe(0);
    expect(await exported(exporter, second)).toBe(0);
    await exporter.shutdown();
    expect(await spill.files()).toHaveLength(2);
    const run = await runCli(['replay', '--url', MYSQL.url, '--table', table, '--spill-dir', spill.dir]);
    expect(run.stdout).toMatch(/replayed 15 rows from 2 files/);
    expect(run.code).toBe(0);
    expect(await spill.files()).toEqual([]);
    const inspector = await MYSQL.open();
    const stored = await inspector.storedSpanIds(table);
    await inspector.end();
    expect(stored.sort()).toEqual([...first, ...second].map((s) => s.spanContext().spanId).sort());
  });
});
