/**
 * Shutdown while the database cannot be reached: it returns within its
 * deadline, and every span ended is either stored or in the spill.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpillStore } from '../../src/spill/spill-store.js';
import { mysqlAvailable, postgresAvailable } from '../support/databases.js';
import {
  MYSQL,
  POSTGRES,
  SpanStream,
  TcpProxy,
  faultExporter,
  sleep,
  tempSpillDir,
  type FaultDatabase,
  type Inspector,
} from './fault-support.js';

const databases: FaultDatabase[] = [
  ...((await postgresAvailable()) ? [POSTGRES] : []),
  ...((await mysqlAvailable()) ? [MYSQL] : []),
];

const OUTAGES = [
  { kind: 'refused', begin: (p: TcpProxy) => p.refuse() },
  { kind: 'silent', begin: (p: TcpProxy) => p.blackhole() },
] as const;

/** Span ids of every row in the spill folder. */
async function spilledSpanIds(dir: string): Promise<string[]> {
  const store = new SpillStore(dir, Number.MAX_SAFE_INTEGER);
  const ids: string[] = [];
  for (const name of await store.list()) {
    const claimed = await store.claim(name);
    if (!claimed) continue;
    ids.push(...(await store.read(claimed)).rows.map((r) => r.span_id));
    await store.release(claimed);
  }
  return ids;
}

describe.runIf(databases.length > 0).each(databases)('shutdown while $name is unreachable', (database) => {
  let proxy: TcpProxy;
  let inspector: Inspector;
  let spill: Awaited<ReturnType<typeof tempSpillDir>>;
  const tables: string[] = [];

  beforeEach(async () => {
    proxy = await TcpProxy.forUrl(database.url);
    inspector = await database.open();
    spill = await tempSpillDir();
  });
  afterEach(async () => {
    await proxy.stop();
    for (const table of tables.splice(0)) await inspector.dropTable(table);
    await inspector.end();
    await spill.remove();
  });

  it.each(OUTAGES)(
    '(connections $kind) returns within shutdownTimeoutMillis, the rows not stored spilled',
    async ({ begin }) => {
      // The default export deadline: without the shutdown deadline, retries would go on for 24 s.
      const { exporter, table } = faultExporter(database, proxy, {
        spillDir: spill.dir,
        exportTimeoutMillis: 30_000,
        shutdownTimeoutMillis: 2_000,
      });
      tables.push(table);
      await exporter.ready();
      const stream = new SpanStream(exporter);
      stream.start(2);
      await sleep(500);
      begin(proxy);
      await sleep(1_000);
      stream.stop();
      stream.burst(300); // ended, still in the BatchSpanProcessor's queue when shutdown comes
      const started = Date.now();
      await stream.shutdown(); // the provider's: BatchSpanProcessor flushes, then the exporter shuts down
      const took = Date.now() - started;
      await proxy.pass();
      const stored = await inspector.storedSpanIds(table);
      const spilled = await spilledSpanIds(spill.dir);
      console.info(
        `${database.name}: shutdown took ${took} ms, ${spilled.length} rows spilled, ${stored.length} stored`,
      );
      expect(took).toBeLessThan(2_500);
      expect(new Set([...stored, ...spilled])).toEqual(new Set(stream.ended));
      expect(spilled.length).toBeGreaterThan(300);
    },
  );
});
