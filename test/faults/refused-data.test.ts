/**
 * Rows the database refuses, against the real servers: a CHECK constraint the
 * test adds refuses one row of a batch. The other rows are stored, the refused
 * one is kept in the dead-letter folder with the server's error, nothing is
 * spilled and nothing is written again and again; a spill file holding such a
 * row is replayed the same way, once.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSink } from '../../src/config/create-sink.js';
import { resolveOptions } from '../../src/config/options.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import type { Sink } from '../../src/sinks/sink.js';
import { SpillStore } from '../../src/spill/spill-store.js';
import { ConsoleWarnings } from '../../src/warnings.js';
import { runCli } from '../support/child-process.js';
import { uniqueName } from '../support/databases.js';
import { CHAT_ATTRIBUTES, finishedSpans } from '../support/spans.js';
import { faultDatabases, tempSpillDir, waitFor, type FaultDatabase } from './fault-support.js';

const databases = await faultDatabases();

const REFUSED_NAME = 'chat refused-by-check';

/** Adds to `table` a CHECK constraint that refuses rows named REFUSED_NAME. */
async function refuseOneName(database: FaultDatabase, table: string): Promise<void> {
  const check = `ALTER TABLE ${table} ADD CONSTRAINT ${table}_refuse CHECK (operation_name <> '${REFUSED_NAME}')`;
  if (database.name === 'postgres') {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(check).finally(() => client.end());
  } else {
    const connection = await mysql.createConnection({ uri: database.url });
    await connection.query(check).finally(() => connection.end());
  }
}

/** 22 chat spans, the 8th of which the constraint refuses. */
function spansWithOneRefused(): { spans: ReadableSpan[]; refused: string; allowed: string[] } {
  const before = finishedSpans(7);
  const refused = finishedSpans(1, CHAT_ATTRIBUTES, REFUSED_NAME);
  const after = finishedSpans(14);
  const spans = [...before, ...refused, ...after];
  const ids = (list: ReadableSpan[]) => list.map((s) => s.spanContext().spanId);
  return { spans, refused: ids(refused)[0] as string, allowed: [...ids(before), ...ids(after)] };
}

/** A sink that counts the writes it is asked for. */
function counting(sink: Sink): Sink & { readonly writes: number[] } {
  const writes: number[] = [];
  return {
    kind: sink.kind,
    target: sink.target,
    writes,
    write(rows, signal) {
      writes.push(rows.length);
      return sink.write(rows, signal);
    },
    prepare: () => sink.prepare(),
    checkHealth: (signal) => sink.checkHealth(signal),
    readBack: (ids) => sink.readBack(ids),
    remove: (ids) => sink.remove(ids),
    callQueries: () => sink.callQueries(),
    reprice: (request) => sink.reprice(request),
    prune: (request) => sink.prune(request),
    flush: () => sink.flush(),
    migrate: (dryRun) => sink.migrate(dryRun),
    schemaGaps: () => sink.schemaGaps(),
    close: () => sink.close(),
  };
}

interface DeadLetterLine {
  readonly error: string;
  readonly code: string | null;
  readonly row: MetricEvent;
}

async function deadLetters(spillDir: string): Promise<{ names: string[]; lines: DeadLetterLine[] }> {
  const folder = join(spillDir, 'dead-letter');
  const names = (await readdir(folder).catch(() => [] as string[])).filter((n) => n.endsWith('.ndjson'));
  const lines: DeadLetterLine[] = [];
  for (const name of names) {
    const [, ...rows] = (await readFile(join(folder, name), 'utf8')).trim().split('\n');
    lines.push(...rows.map((line) => JSON.parse(line) as DeadLetterLine));
  }
  return { names, lines };
}

function exported(exporter: MetricEventsSpanExporter, spans: ReadableSpan[]) {
  return new Promise<{ code: ExportResultCode; error?: Error }>((resolve) => exporter.export(spans, resolve));
}

/** What each database calls its refusal of a CHECK constraint. */
const CHECK_REFUSAL = { postgres: /23514|violates check constraint/, mysql: /4025|CONSTRAINT .*failed/ };

describe.runIf(databases.length > 0).each(databases)('rows $name refuses', (database) => {
  let spill: Awaited<ReturnType<typeof tempSpillDir>>;
  let table: string;
  let sink: Sink;
  let inspector: Awaited<ReturnType<FaultDatabase['open']>>;

  beforeEach(async () => {
    spill = await tempSpillDir();
    table = uniqueName(`refused_${database.name}`);
    sink = await createSink(resolveOptions({ url: database.url, table }));
    await sink.prepare();
    await refuseOneName(database, table);
    inspector = await database.open();
  });
  afterEach(async () => {
    await sink.close();
    await inspector.dropTable(table);
    await inspector.end();
    await spill.remove();
  });

  it('stores the 21 rows it takes, keeps the refused one with the server error in the dead-letter folder, spills nothing and answers SUCCESS', async () => {
    const console: string[] = [];
    const writing = counting(sink);
    const exporter = MetricEventsSpanExporter.withSink(
      writing,
      { spillDir: spill.dir, table },
      { warnings: new ConsoleWarnings(true, (line) => console.push(line), new Set()) },
    );
    const { spans, refused, allowed } = spansWithOneRefused();

    const result = await exported(exporter, spans);

    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect((await inspector.storedSpanIds(table)).sort()).toEqual([...allowed].sort());
    const kept = await deadLetters(spill.dir);
    expect(kept.names).toHaveLength(1);
    expect(kept.lines.map((l) => l.row.span_id)).toEqual([refused]);
    expect(kept.lines[0]?.error).toMatch(CHECK_REFUSAL[database.name]);
    expect(await spill.files()).toEqual([]);
    // Halving 22 rows down to the one refused: a bounded number of writes, none after the answer.
    expect(writing.writes[0]).toBe(22);
    expect(writing.writes.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(22)) + 1);
    expect(console).toHaveLength(1);
    expect(console[0]).toMatch(/refused 1 of 22 rows .* the other 21 were stored; .*dead-letter\/dead-/);
    // Not spill mode: the next batch is written, not spilled.
    const writes = writing.writes.length;
    expect((await exported(exporter, finishedSpans(3))).code).toBe(ExportResultCode.SUCCESS);
    expect(writing.writes.length).toBe(writes + 1);
    expect(await spill.files()).toEqual([]);
    await exporter.shutdown();
  });

  it('keeps the dead-letter files private: 0600 in a 0700 folder', async () => {
    const exporter = MetricEventsSpanExporter.withSink(sink, { spillDir: spill.dir, table });
    await exported(exporter, spansWithOneRefused().spans);
    const folder = join(spill.dir, 'dead-letter');
    const [name] = (await deadLetters(spill.dir)).names;
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(join(folder, name as string))).mode & 0o777).toBe(0o600);
    await exporter.shutdown();
  });

  it('replays a spill file holding a refused row in the background once: the others stored, the refused one dead-lettered, the file gone', async () => {
    const { spans, refused, allowed } = spansWithOneRefused();
    const rows = spans.map((span) => toMetricEvent(span) as MetricEvent);
    await new SpillStore(spill.dir, Number.MAX_SAFE_INTEGER).store(
      rows,
      { table },
      'the database was away (test)',
    );
    const writing = counting(sink);
    const exporter = MetricEventsSpanExporter.withSink(
      writing,
      { spillDir: spill.dir, table },
      { replayIntervalMillis: 20, warnings: new ConsoleWarnings(true, () => {}, new Set()) },
    );
    await exporter.ready(); // prepares the sink, and wakes the background replay
    await waitFor(
      'the background replay to take the spill file',
      async () => (await spill.files()).length === 0,
    );
    expect((await inspector.storedSpanIds(table)).sort()).toEqual([...allowed].sort());
    const kept = await deadLetters(spill.dir);
    expect(kept.lines.map((l) => l.row.span_id)).toEqual([refused]);
    expect(kept.lines[0]?.error).toMatch(CHECK_REFUSAL[database.name]);
    // The file is gone, so no later pass writes it again.
    const writes = writing.writes.length;
    await exporter.forceFlush();
    expect(writing.writes.length).toBe(writes);
    await exporter.shutdown();
  });

  it('llamonitor replay stores the rows it can, reports the refused one with its error, and does not try it again', async () => {
    const { spans, refused, allowed } = spansWithOneRefused();
    const rows = spans.map((span) => toMetricEvent(span) as MetricEvent);
    await new SpillStore(spill.dir, Number.MAX_SAFE_INTEGER).store(
      rows,
      { table },
      'the database was away (test)',
    );
    const args = ['replay', '--url', database.url, '--table', table, '--spill-dir', spill.dir];

    const first = await runCli(args);

    expect(first.stdout).toMatch(/replayed 21 rows from 1 files/);
    expect(first.stdout).toMatch(
      /\[warn\] 1 rows the sink refused \(1 in this replay\) are kept in 1 dead-letter files in .*dead-letter, not replayed; the first error: /,
    );
    expect(first.stdout).toMatch(CHECK_REFUSAL[database.name]);
    expect(first.code).toBe(0);
    expect(await spill.files()).toEqual([]);
    expect((await inspector.storedSpanIds(table)).sort()).toEqual([...allowed].sort());
    expect((await deadLetters(spill.dir)).lines.map((l) => l.row.span_id)).toEqual([refused]);

    const second = await runCli(args);
    expect(second.stdout).toMatch(/replayed 0 rows from 0 files/);
    expect(second.stdout).toMatch(/1 rows the sink refused \(0 in this replay\)/);
    expect(second.code).toBe(0);
    expect((await deadLetters(spill.dir)).names).toHaveLength(1);
  });
});
