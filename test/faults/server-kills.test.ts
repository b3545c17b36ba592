/**
 * The server ends the exporter's connections while it runs (an administrator's
 * pg_terminate_backend or KILL CONNECTION, a failover): the pool opens new ones
 * on its own and no span is lost. The servers are shared, so only this test's
 * connections are ended, found by the proxy's client ports; no server restarts.
 */
import { describe, expect, it } from 'vitest';

import { captureDiag } from '../support/diag-capture.js';
import {
  endAndCompare,
  everySpanOnce,
  faultDatabases,
  faultExporter,
  faultFixture,
  sleep,
  SpanStream,
  spansEnded,
  waitFor,
} from './fault-support.js';

const databases = await faultDatabases();

describe.runIf(databases.length > 0).each(databases)(
  '$name ending the exporter’s connections',
  (database) => {
    const fx = faultFixture(database);

    it('again and again under a steady stream: the pool reconnects on its own and every span is stored once', async () => {
      const logs = captureDiag();
      try {
        const { exporter, table } = faultExporter(database, fx.proxy, {
          spillDir: fx.spill.dir,
          exportTimeoutMillis: 2_000,
        });
        fx.tables.push(table);
        await exporter.ready();
        const stream = new SpanStream(exporter);
        stream.start(3);
        let killed = 0;
        for (let round = 0; round < 6; round++) {
          await sleep(400);
          await waitFor('a connection of the exporter to end', () => fx.proxy.upstreamPorts().length > 0);
          killed += await fx.inspector.killConnectionsFrom(fx.proxy.upstreamPorts());
        }
        const connectionsAfterKills = fx.proxy.accepted;
        await spansEnded(stream, 300); // written through connections opened after the last kill
        const result = await endAndCompare(stream, fx, table);
        expect(killed).toBeGreaterThanOrEqual(6);
        // Writes after the last kill went through connections opened anew.
        expect(fx.proxy.accepted).toBeGreaterThan(1);
        expect(connectionsAfterKills).toBeGreaterThan(3);
        expect(result).toEqual(everySpanOnce(stream.ended.length));
        // No write gave up; a write that met a killed connection says so, and that writing again is safe.
        expect(logs.logs.filter((l) => l.level === 'error')).toEqual([]);
        const failedWrites = logs.logs.filter((l) => /write of \d+ rows? failed/.test(l.message));
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
