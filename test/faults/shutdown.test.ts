/**
 * Shutdown while the database cannot be reached: it returns at its deadline
 * rather than the export deadline's, and every span ended is either stored or
 * in the spill.
 */
import { describe, expect, it } from 'vitest';
import { SpillStore } from '../../src/spill/spill-store.js';

import {
  faultDatabases,
  faultExporter,
  faultFixture,
  rowsStored,
  SpanStream,
  spansEnded,
  TcpProxy,
  within,
} from './fault-support.js';

const databases = await faultDatabases();

const OUTAGES = [
  { kind: 'refused', begin: (p: TcpProxy) => p.refuse() },
  { kind: 'silent', begin: (p: TcpProxy) => p.blackhole() },
] as const;

/** Span ids of every row in the spill folder, and the reasons the files give. */
async function spilled(dir: string): Promise<{ ids: string[]; reasons: string[] }> {
  const store = new SpillStore(dir, Number.MAX_SAFE_INTEGER);
  const ids: string[] = [];
  const reasons: string[] = [];
  for (const name of await store.list()) {
    const claimed = await store.claim(name);
    if (!claimed) continue;
    const batch = await store.read(claimed);
    ids.push(...batch.rows.map((r) => r.span_id));
    reasons.push(batch.reason);
    await store.release(claimed);
  }
  return { ids, reasons };
}

describe.runIf(databases.length > 0).each(databases)('shutdown while $name is unreachable', (database) => {
  const fx = faultFixture(database);

  it.each(OUTAGES)(
    '(connections $kind) returns long before the export deadline would end its retries, the rows not stored spilled',
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
      await rowsStored(fx.inspector, table, 50);
      begin(fx.proxy);
      await spansEnded(stream, 100); // exported into the outage: their write is being retried
      stream.stop();
      stream.burst(300); // ended, still in the BatchSpanProcessor's queue when shutdown comes
      // The provider's shutdown: the BatchSpanProcessor flushes, then the exporter shuts down.
      await within(
        stream.shutdown(),
        15_000,
        'shutdown to return (the export deadline would retry for 24 s)',
      );
      await fx.proxy.pass();
      const stored = await fx.inspector.storedSpanIds(table);
      const spill = await spilled(fx.spill.dir);
      console.info(`${database.name}: ${spill.ids.length} rows spilled, ${stored.length} stored`);
      expect(new Set([...stored, ...spill.ids])).toEqual(new Set(stream.ended));
      expect(spill.ids.length).toBeGreaterThan(300);
      // The shutdown deadline ended the retries, not the export's.
      expect(spill.reasons.filter((reason) => !/before shutdown/.test(reason))).toEqual([]);
    },
  );
});
