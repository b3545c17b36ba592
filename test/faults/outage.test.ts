/**
 * Outages against the real servers, a TcpProxy between exporter and database:
 * whatever the network does, every span ended is stored once. Each phase ends
 * on an event (rows stored, batches spilled, spans ended, the spill replayed),
 * not after a tuned sleep, and every wait has a bound that says what did not
 * happen.
 */
import { describe, expect, it } from 'vitest';

import { captureDiag } from '../support/diag-capture.js';
import {
  compareStored,
  endAndCompare,
  everySpanOnce,
  faultDatabases,
  faultExporter,
  faultFixture,
  rowsStored,
  SpanStream,
  spansEnded,
  TcpProxy,
  waitFor,
  within,
} from './fault-support.js';

const databases = await faultDatabases();

describe.runIf(databases.length > 0).each(databases)('an outage of $name', (database) => {
  const fx = faultFixture(database);

  const OUTAGES = [
    { kind: 'refused', begin: (p: TcpProxy) => p.refuse() },
    { kind: 'silent (packets dropped)', begin: (p: TcpProxy) => p.blackhole() },
  ] as const;

  const spilled = (count: number, what: string) =>
    waitFor(what, async () => (await fx.spill.files()).length >= count);

  it.each(OUTAGES)(
    'longer than an export deadline, connections $kind, under a steady stream of spans loses none and stores none twice',
    async ({ kind, begin }) => {
      const { exporter, table } = faultExporter(database, fx.proxy, {
        spillDir: fx.spill.dir,
        exportTimeoutMillis: 1_500,
      });
      fx.tables.push(table);
      await exporter.ready();
      const stream = new SpanStream(exporter);
      stream.start(2); // about 200 spans a second
      await rowsStored(fx.inspector, table, 100);
      begin(fx.proxy);
      // The first batch gives up at its deadline and spills; the next ones spill at once.
      await spilled(2, 'two batches to be spilled during the outage');
      await spansEnded(stream, 300);
      await fx.proxy.pass();
      const recovered = await waitFor(
        'the spill folder to empty after the outage',
        async () => (await fx.spill.files()).length === 0,
      );
      const result = await endAndCompare(stream, fx, table);
      expect(result).toEqual(everySpanOnce(stream.ended.length));
      console.info(
        `${database.name}, ${kind}: ${stream.ended.length} spans; the spill was replayed ${recovered} ms after the outage ended`,
      );
    },
  );

  it('of a network slower than the export deadline spills, then stores every span once when it is fast again', async () => {
    const { exporter, table } = faultExporter(database, fx.proxy, {
      spillDir: fx.spill.dir,
      exportTimeoutMillis: 1_000,
    });
    fx.tables.push(table);
    await exporter.ready();
    const stream = new SpanStream(exporter);
    stream.start(2);
    await rowsStored(fx.inspector, table, 50);
    fx.proxy.delay(700); // each way: a statement and its answer take 1.4 s, the retries end at 0.8 s
    await spilled(1, 'a batch to be spilled while the network is slow');
    fx.proxy.delay(0);
    const result = await endAndCompare(stream, fx, table);
    expect(result).toEqual(everySpanOnce(stream.ended.length));
  });

  it('of several export deadlines under a stream faster than one batch per deadline: the BatchSpanProcessor drops nothing', async () => {
    // The BatchSpanProcessor sends one export at a time. Were each export to wait out its retry deadline
    // (2 s here), it would send 256 spans per 2 s while 400 a second arrive, and its queue of 1,200 would
    // overflow within 5 s.
    const { exporter, table } = faultExporter(database, fx.proxy, {
      spillDir: fx.spill.dir,
      exportTimeoutMillis: 2_500,
    });
    fx.tables.push(table);
    await exporter.ready();
    const stream = new SpanStream(exporter, { maxQueueSize: 1_200, maxExportBatchSize: 256 });
    stream.start(4);
    await rowsStored(fx.inspector, table, 200);
    fx.proxy.refuse();
    // 2,800 spans are 7 s of this stream, and at least three batches spilled: several export deadlines of outage.
    await spansEnded(stream, 2_800, 60_000);
    await spilled(3, 'three batches to be spilled during the outage');
    await fx.proxy.pass();
    const result = await endAndCompare(stream, fx, table);
    expect(result).toEqual(everySpanOnce(stream.ended.length));
  });

  it('that leaves open connections silent for good writes again once new connections work, without waiting for TCP to give up', async () => {
    // Connections opened during the outage hang until their connect timeout: 2 s here, 15 s (PostgreSQL) or 10 s by default.
    const { exporter, table } = faultExporter(
      database,
      fx.proxy,
      { spillDir: fx.spill.dir, exportTimeoutMillis: 1_500 },
      { [database.connectTimeoutParameter]: '2' },
    );
    fx.tables.push(table);
    const logs = captureDiag();
    try {
      await exporter.ready();
      const stream = new SpanStream(exporter);
      stream.start(2);
      await rowsStored(fx.inspector, table, 100);
      fx.proxy.blackhole();
      await spilled(1, 'a batch to be spilled while the network is silent');
      await fx.proxy.pass({ strandOpen: true });
      // TCP would give up on the silent connections after many minutes: the bound is far below that.
      await waitFor(
        'the spill folder to empty once new connections work',
        async () => (await fx.spill.files()).length === 0,
        30_000,
      );
      const endedAfterRecovery = stream.ended.length;
      await spansEnded(stream, 200);
      stream.stop();
      await stream.forceFlush();
      await rowsStored(fx.inspector, table, endedAfterRecovery);
      await waitFor('the spill folder to empty', async () => (await fx.spill.files()).length === 0, 30_000);
      await within(stream.shutdown(), 30_000, 'shutdown to return');
      const result = compareStored(stream.ended, await fx.inspector.storedSpanIds(table));
      expect(result).toMatchObject({ missing: 0, unexpected: 0, twice: 0 });
      // No write was left hanging on a stranded connection: shutdown had none to cut short and spill.
      expect(await fx.spill.files()).toEqual([]);
      expect(logs.logs.filter((l) => /shutdown: /.test(l.message))).toEqual([]);
    } finally {
      logs.stop();
    }
  });
});
