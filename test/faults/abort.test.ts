/**
 * Sink.write with a signal: when the caller's deadline passes, a write stuck on
 * a silent connection gives up at once and its connection is destroyed, so the
 * pool's next write opens a fresh one instead of queueing behind it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSink } from '../../src/config/create-sink.js';
import { resolveOptions } from '../../src/config/options.js';
import type { Sink } from '../../src/sinks/sink.js';
import { mysqlAvailable, postgresAvailable, uniqueName } from '../support/databases.js';
import { sampleRows } from '../support/sample-rows.js';
import { MYSQL, POSTGRES, TcpProxy, type FaultDatabase, type Inspector } from './fault-support.js';

const databases: FaultDatabase[] = [
  ...((await postgresAvailable()) ? [POSTGRES] : []),
  ...((await mysqlAvailable()) ? [MYSQL] : []),
];

describe.runIf(databases.length > 0).each(databases)('a $name write given up by its signal', (database) => {
  let proxy: TcpProxy;
  let inspector: Inspector;
  let sink: Sink;
  let table: string;

  beforeEach(async () => {
    proxy = await TcpProxy.forUrl(database.url);
    inspector = await database.open();
    table = uniqueName(`abort_${database.name}`);
    sink = await createSink(resolveOptions({ url: proxy.url(database.url), table, poolSize: 1 }));
    await sink.prepare();
  });
  afterEach(async () => {
    await proxy.stop();
    await sink.close();
    await inspector.dropTable(table);
    await inspector.end();
  });

  it('rejects at once with the reason, and the next write opens a fresh connection', async () => {
    proxy.blackhole(); // the pool's one connection goes silent
    await proxy.pass({ strandOpen: true }); // new connections work
    const abort = new AbortController();
    const stuck = sink.write(sampleRows(50), abort.signal);
    let settled = false;
    stuck.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    const aborted = Date.now();
    abort.abort(new Error('the export deadline passed'));
    await expect(stuck).rejects.toThrow(/the export deadline passed/);
    expect(Date.now() - aborted).toBeLessThan(100);
    const rows = sampleRows(20, 50);
    await sink.write(rows);
    const stored = await inspector.storedSpanIds(table);
    expect(stored).toEqual(expect.arrayContaining(rows.map((r) => r.span_id)));
  });

  it('fails at once when the signal has aborted already, and opens no connection', async () => {
    const accepted = proxy.accepted;
    const abort = new AbortController();
    abort.abort(new Error('too late'));
    await expect(sink.write(sampleRows(5), abort.signal)).rejects.toThrow(/too late/);
    expect(proxy.accepted).toBe(accepted);
  });
});
