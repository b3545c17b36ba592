/**
 * Sink.write with a signal: when the caller's deadline passes, a write stuck on
 * a silent connection gives up and its connection is destroyed, so the pool's
 * next write opens a fresh one instead of queueing behind it. The connection
 * stays silent for good, so a write that ends at all was ended by its signal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSink } from '../../src/config/create-sink.js';
import { resolveOptions } from '../../src/config/options.js';
import type { Sink } from '../../src/sinks/sink.js';
import { mysqlAvailable, postgresAvailable, uniqueName } from '../support/databases.js';
import { sampleRows } from '../support/sample-rows.js';
import { MYSQL, POSTGRES, TcpProxy, within, type FaultDatabase, type Inspector } from './fault-support.js';

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

  it('rejects with the reason once its signal aborts, although its connection stays silent, and the next write opens a fresh connection', async () => {
    proxy.blackhole(); // the pool's one connection goes silent
    await proxy.pass({ strandOpen: true }); // new connections work; the silent one stays silent for good
    const abort = new AbortController();
    const stuck = sink.write(sampleRows(50), abort.signal);
    let settled = false;
    stuck.then(
      () => (settled = true),
      () => (settled = true),
    );
    // On a silent connection the write cannot end by itself: only the abort can end it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    abort.abort(new Error('the export deadline passed'));
    await expect(within(stuck, 10_000, 'the write to give up after its signal aborted')).rejects.toThrow(
      /the export deadline passed/,
    );
    const rows = sampleRows(20, 50);
    await within(sink.write(rows), 10_000, 'the next write, on a fresh connection');
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
