/**
 * Shutdown while the database cannot be reached: it returns within its
 * deadline, and every span ended is either stored or in the spill.
 */
import { describe, expect, it } from 'vitest';
import { SpillStore } from '../../src/spill/spill-store.js';

import { faultDatabases, faultExporter, faultFixture, sleep, SpanStream, TcpProxy } from './fault-support.js';

const databases = await faultDatabases();

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
  const fx = faultFixture(database);

  it.each(OUTAGES)(
    '(connections $kind) returns within shutdownTimeoutMillis, the rows not stored spilled',
    async ({ begin }) => {
      // The default export deadline: without the shutdown deadline, retries would go on for 24 s.
      const { exporter, table } = faultExporter(database, fx.proxy, {
        spillDir: fx.spill.dir,
        exportTimeoutMillis: 30_000,
        shutdownTimeoutMillis: 2_000,
      });
      fx.tables.push(table);
      await exporter.ready();
      const stream = new SpanStream(exporter);
      stream.start(2);
      await sleep(500);
      begin(fx.proxy);
      await sleep(1_000);
      stream.stop();
      stream.burst(300); // ended, still in the BatchSpanProcessor's queue when shutdown comes
      const started = Date.now();
      await stream.shutdown(); // the provider's: BatchSpanProcessor flushes, then the exporter shuts down
      const took = Date.now() - started;
      await fx.proxy.pass();
      const stored = await fx.inspector.storedSpanIds(table);
      const spilled = await spilledSpanIds(fx.spill.dir);
      console.info(
        `${database.name}: shutdown took ${took} ms, ${spilled.length} rows spilled, ${stored.length} stored`,
      );
      expect(took).toBeLessThan(2_500);
      expect(new Set([...stored, ...spilled])).toEqual(new Set(stream.ended));
      expect(spilled.length).toBeGreaterThan(300);
    },
  );
});
