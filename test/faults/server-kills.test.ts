/**
 * The server ends the exporter's connections while it runs (an administrator's
 * pg_terminate_backend or KILL CONNECTION, a failover): the pool opens new ones
 * on its own and no span is lost. The servers are shared, so only this test's
 * connections are ended, found by the proxy's client ports; no server restarts.
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

describe.runIf(databases.length > 0).each(databases)(
  '$name ending the exporter’s connections',
  (database) => {
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

    it('again and again under a steady stream: the pool reconnects on its own and every span is stored once', async () => {
      const logs = captureDiag();
      try {
        const { exporter, table } = faultExporter(database, proxy, {
          spillDir: spill.dir,
          exportTimeoutMillis: 2_000,
        });
        tables.push(table);
        await exporter.ready();
        const stream = new SpanStream(exporter);
        stream.start(3);
        let killed = 0;
        for (let round = 0; round < 6; round++) {
          await sleep(400);
          killed += await inspector.killConnectionsFrom(proxy.upstreamPorts());
        }
        const connectionsAfterKills = proxy.accepted;
        await sleep(1_500);
        stream.stop();
        await stream.forceFlush();
        await waitFor('the spill folder to empty', async () => (await spill.files()).length === 0);
        const result = compareStored(stream.ended, await inspector.storedSpanIds(table));
        await stream.shutdown();
        expect(killed).toBeGreaterThanOrEqual(6);
        // Writes after the last kill went through connections opened anew.
        expect(proxy.accepted).toBeGreaterThan(1);
        expect(connectionsAfterKills).toBeGreaterThan(3);
        expect(result).toEqual({
          ended: stream.ended.length,
          stored: stream.ended.length,
          missing: 0,
          unexpected: 0,
          twice: 0,
        });
        // No write gave up; a write that met a killed connection says so, and that writing again is safe.
        expect(logs.logs.filter((l) => l.level === 'error')).toEqual([]);
        const failedWrites = logs.logs.filter((l) => /write of \d+ rows failed/.test(l.message));
        expect(
          failedWrites.filter(
            (l) => !/lost the connection .*Writing the batch again is safe/.test(l.message),
          ),
        ).toEqual([]);
      } finally {
        logs.stop();
      }
    });
  },
);
