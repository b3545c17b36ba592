/**
 * Outages against the real servers, a TcpProxy between exporter and database:
 * whatever the network does, every span ended is stored once.
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
  sleep,
  SpanStream,
  TcpProxy,
  waitFor,
} from './fault-support.js';

const databases = await faultDatabases();

describe.runIf(databases.length > 0).each(databases)('an outage of $name', (database) => {
  const fx = faultFixture(database);

  const OUTAGES = [
    { kind: 'refused', begin: (p: TcpProxy) => p.refuse() },
    { kind: 'silent (packets dropped)', begin: (p: TcpProxy) => p.blackhole() },
  ] as const;

  it.each(OUTAGES)(
    'of several seconds, connections $kind, under a steady stream of spans loses none and stores none twice',
    async ({ kind, begin }) => {
      const { exporter, table } = faultExporter(database, fx.proxy, {
        spillDir: fx.spill.dir,
        exportTimeoutMillis: 1_500,
      });
      fx.tables.push(table);
      await exporter.ready();
      const stream = new SpanStream(exporter);
      stream.start(2); // about 200 spans a second
      await sleep(1_000);
      begin(fx.proxy);
      await sleep(3_000);
      expect((await fx.spill.files()).length).toBeGreaterThan(0);
      await fx.proxy.pass();
      const recovered = await waitFor(
        'the spill folder to empty',
        async () => (await fx.spill.files()).length === 0,
      );
      await sleep(500);
      const result = await endAndCompare(stream, fx, table);
      expect(result).toEqual(everySpanOnce(stream.ended.length));
      expect(stream.ended.length).toBeGreaterThan(600);
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
    await sleep(500);
    fx.proxy.delay(700); // each way: a statement and its answer take 1.4 s, the retries end at 0.8 s
    await sleep(2_500);
    expect((await fx.spill.files()).length).toBeGreaterThan(0);
    fx.proxy.delay(0);
    await sleep(500);
    const result = await endAndCompare(stream, fx, table);
    expect(result).toEqual(everySpanOnce(stream.ended.length));
  });

  it('longer than a few export deadlines under a stream faster than one batch per deadline: the BatchSpanProcessor drops nothing', async () => {
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
    await sleep(1_000);
    fx.proxy.refuse();
    await sleep(7_000);
    await fx.proxy.pass();
    await sleep(1_000);
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
      await sleep(1_000);
      fx.proxy.blackhole();
      await sleep(2_500);
      await fx.proxy.pass({ strandOpen: true });
      await sleep(3_500); // the connect timeout, and one export deadline
      const mark = logs.logs.length;
      await sleep(2_000);
      stream.stop();
      await stream.forceFlush();
      const spilledSinceMark = logs.logs.slice(mark).filter((l) => /spilled \d+ rows/.test(l.message));
      await waitFor('the spill folder to empty', async () => (await fx.spill.files()).length === 0, 10_000);
      const started = Date.now();
      await stream.shutdown();
      const shutdownMillis = Date.now() - started;
      const result = compareStored(stream.ended, await fx.inspector.storedSpanIds(table));
      expect(spilledSinceMark).toEqual([]);
      // No write is left hanging on a stranded connection for shutdown to wait for.
      expect(shutdownMillis).toBeLessThan(1_000);
      expect(result).toMatchObject({ missing: 0, unexpected: 0, twice: 0 });
    } finally {
      logs.stop();
    }
  });
});
