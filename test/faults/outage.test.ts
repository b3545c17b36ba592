/**
 * Outages against the real servers, a TcpProxy between exporter and database:
 * whatever the network does, every span ended is stored once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mysqlAvailable, postgresAvailable } from '../support/databases.js';
import { captureDiag } from '../support/diag-capture.js';
import {
  MYSQL,
  POSTGRES,
  SpanStream,
  TcpProxy,
  compareStored,
  faultExporter,
  sleep,
  tempSpillDir,
  waitFor,
  type FaultDatabase,
  type Inspector,
} from './fault-support.js';

const databases: FaultDatabase[] = [
  ...((await postgresAvailable()) ? [POSTGRES] : []),
  ...((await mysqlAvailable()) ? [MYSQL] : []),
];

describe.runIf(databases.length > 0).each(databases)('an outage of $name', (database) => {
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

  const OUTAGES = [
    { kind: 'refused', begin: (p: TcpProxy) => p.refuse() },
    { kind: 'silent (packets dropped)', begin: (p: TcpProxy) => p.blackhole() },
  ] as const;

  it.each(OUTAGES)(
    'of several seconds, connections $kind, under a steady stream of spans loses none and stores none twice',
    async ({ kind, begin }) => {
      const { exporter, table } = faultExporter(database, proxy, {
        spillDir: spill.dir,
        exportTimeoutMillis: 1_500,
      });
      tables.push(table);
      await exporter.ready();
      const stream = new SpanStream(exporter);
      stream.start(2); // about 200 spans a second
      await sleep(1_000);
      begin(proxy);
      await sleep(3_000);
      expect((await spill.files()).length).toBeGreaterThan(0);
      await proxy.pass();
      const recovered = await waitFor(
        'the spill folder to empty',
        async () => (await spill.files()).length === 0,
      );
      await sleep(500);
      stream.stop();
      await stream.forceFlush();
      await waitFor('the spill folder to empty', async () => (await spill.files()).length === 0);
      const result = compareStored(stream.ended, await inspector.storedSpanIds(table));
      await stream.shutdown();
      expect(result).toEqual({
        ended: stream.ended.length,
        stored: stream.ended.length,
        missing: 0,
        unexpected: 0,
        twice: 0,
      });
      expect(stream.ended.length).toBeGreaterThan(600);
      console.info(
        `${database.name}, ${kind}: ${stream.ended.length} spans; the spill was replayed ${recovered} ms after the outage ended`,
      );
    },
  );

  it('of a network slower than the export deadline spills, then stores every span once when it is fast again', async () => {
    const { exporter, table } = faultExporter(database, proxy, {
      spillDir: spill.dir,
      exportTimeoutMillis: 1_000,
    });
    tables.push(table);
    await exporter.ready();
    const stream = new SpanStream(exporter);
    stream.start(2);
    await sleep(500);
    proxy.delay(700); // each way: a statement and its answer take 1.4 s, the retries end at 0.8 s
    await sleep(2_500);
    expect((await spill.files()).length).toBeGreaterThan(0);
    proxy.delay(0);
    await sleep(500);
    stream.stop();
    await stream.forceFlush();
    await waitFor('the spill folder to empty', async () => (await spill.files()).length === 0);
    const result = compareStored(stream.ended, await inspector.storedSpanIds(table));
    await stream.shutdown();
    expect(result).toEqual({
      ended: stream.ended.length,
      stored: stream.ended.length,
      missing: 0,
      unexpected: 0,
      twice: 0,
    });
  });

  it('longer than a few export deadlines under a stream faster than one batch per deadline: the BatchSpanProcessor drops nothing', async () => {
    // The BatchSpanProcessor sends one export at a time. Were each export to wait out its retry deadline
    // (2 s here), it would send 256 spans per 2 s while 400 a second arrive, and its queue of 1,200 would
    // overflow within 5 s.
    const { exporter, table } = faultExporter(database, proxy, {
      spillDir: spill.dir,
      exportTimeoutMillis: 2_500,
    });
    tables.push(table);
    await exporter.ready();
    const stream = new SpanStream(exporter, { maxQueueSize: 1_200, maxExportBatchSize: 256 });
    stream.start(4);
    await sleep(1_000);
    proxy.refuse();
    await sleep(7_000);
    await proxy.pass();
    await sleep(1_000);
    stream.stop();
    await stream.forceFlush();
    await waitFor('the spill folder to empty', async () => (await spill.files()).length === 0);
    const result = compareStored(stream.ended, await inspector.storedSpanIds(table));
    await stream.shutdown();
    expect(result).toEqual({
      ended: stream.ended.length,
      stored: stream.ended.length,
      missing: 0,
      unexpected: 0,
      twice: 0,
    });
  });

  it('that leaves open connections silent for good writes again once new connections work, without waiting for TCP to give up', async () => {
    // Connections opened during the outage hang until their connect timeout: 2 s here, 15 s (PostgreSQL) or 10 s by default.
    const { exporter, table } = faultExporter(
      database,
      proxy,
      { spillDir: spill.dir, exportTimeoutMillis: 1_500 },
      { [database.connectTimeoutParameter]: '2' },
    );
    tables.push(table);
    const logs = captureDiag();
    try {
      await exporter.ready();
      const stream = new SpanStream(exporter);
      stream.start(2);
      await sleep(1_000);
      proxy.blackhole();
      await sleep(2_500);
      await proxy.pass({ strandOpen: true });
      await sleep(3_500); // the connect timeout, and one export deadline
      const mark = logs.logs.length;
      await sleep(2_000);
      stream.stop();
      await stream.forceFlush();
      const spilledSinceMark = logs.logs.slice(mark).filter((l) => /spilled \d+ rows/.test(l.message));
      await waitFor('the spill folder to empty', async () => (await spill.files()).length === 0, 10_000);
      const started = Date.now();
      await stream.shutdown();
      const shutdownMillis = Date.now() - started;
      const result = compareStored(stream.ended, await inspector.storedSpanIds(table));
      expect(spilledSinceMark).toEqual([]);
      // No write is left hanging on a stranded connection for shutdown to wait for.
      expect(shutdownMillis).toBeLessThan(1_000);
      expect(result).toMatchObject({ missing: 0, unexpected: 0, twice: 0 });
    } finally {
      logs.stop();
    }
  });
});
