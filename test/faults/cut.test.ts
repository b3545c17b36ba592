/**
 * Connections cut in the middle of a batch, on each bulk path: in the middle
 * of the data, and after the server stored the batch but before the client
 * heard so. Either way the exporter writes the batch again and it is stored
 * once.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { mysqlAvailable, postgresAvailable } from '../support/databases.js';
import { captureDiag } from '../support/diag-capture.js';
import { finishedSpans } from '../support/spans.js';
import {
  MYSQL,
  POSTGRES,
  TcpProxy,
  compareStored,
  faultExporter,
  tempSpillDir,
  type FaultDatabase,
  type Inspector,
} from './fault-support.js';

const postgres = await postgresAvailable();
const mysql = await mysqlAvailable();

interface BulkPath {
  readonly name: string;
  readonly database: FaultDatabase;
  readonly urlParams: Record<string, string>;
  /** What the client sends last for a batch: the server has stored it once it answers this. */
  readonly commitText: string;
}

const PATHS: BulkPath[] = [
  // CopyDone: 'c' and its length, 4. A COPY outside a transaction commits before it answers.
  ...(postgres
    ? [{ name: 'PostgreSQL COPY', database: POSTGRES, urlParams: {}, commitText: 'c\0\0\0\x04' }]
    : []),
  ...(mysql
    ? [
        { name: 'MySQL LOAD DATA', database: MYSQL, urlParams: {}, commitText: 'COMMIT' },
        { name: 'MySQL INSERT', database: MYSQL, urlParams: { 'local-infile': '0' }, commitText: 'COMMIT' },
      ]
    : []),
];

/** A span whose row is about 1 KB: 2,000 of them make a batch of a few MB on the wire. */
const ATTRIBUTES = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.system': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 812,
  'gen_ai.usage.output_tokens': 96,
  'gen_ai.output.messages': JSON.stringify([
    { role: 'assistant', parts: [{ type: 'text', content: 'a fairly long answer, '.repeat(20) }] },
  ]),
  'llamonitor.attr.note': 'x'.repeat(600),
};

function exportOnce(exporter: MetricEventsSpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

function within<T>(promise: Promise<T>, millis: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen`)), millis)),
  ]);
}

describe.runIf(PATHS.length > 0).each(PATHS)('a connection cut during a $name batch', (path) => {
  let proxy: TcpProxy;
  let inspector: Inspector;
  let spill: Awaited<ReturnType<typeof tempSpillDir>>;
  let exporter: MetricEventsSpanExporter;
  let table: string;
  let logs: ReturnType<typeof captureDiag>;

  beforeEach(async () => {
    proxy = await TcpProxy.forUrl(path.database.url);
    inspector = await path.database.open();
    spill = await tempSpillDir();
    ({ exporter, table } = faultExporter(
      path.database,
      proxy,
      { spillDir: spill.dir, exportTimeoutMillis: 20_000, poolSize: 1 },
      path.urlParams,
    ));
    await exporter.ready();
    logs = captureDiag();
  });
  afterEach(async () => {
    logs.stop();
    await exporter.shutdown();
    await proxy.stop();
    await inspector.dropTable(table);
    await inspector.end();
    await spill.remove();
  });

  it('in the middle of its data stores the batch once, on the retry', async () => {
    const spans = finishedSpans(2_000, ATTRIBUTES);
    const cut = proxy.cutAfterClientBytes(256 * 1024);
    const result = await exportOnce(exporter, spans);
    const { clientBytes } = await within(cut, 1_000, 'the cut');
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(proxy.cuts).toBe(1);
    expect(clientBytes).toBeGreaterThan(256 * 1024);
    expect(logs.logs.some((l) => /write of 2000 rows failed \(attempt 1\)/.test(l.message))).toBe(true);
    expect(await spill.files()).toEqual([]);
    const ids = spans.map((s) => s.spanContext().spanId);
    expect(compareStored(ids, await inspector.storedSpanIds(table))).toMatchObject({
      stored: 2_000,
      missing: 0,
      twice: 0,
    });
  });

  it('after the server stored it but before the client heard so stores the batch once', async () => {
    const spans = finishedSpans(500, ATTRIBUTES);
    const cut = proxy.cutBeforeReplyTo(path.commitText);
    const exporting = exportOnce(exporter, spans);
    await within(cut, 10_000, 'the cut');
    // The premise: the server had stored the batch when the client lost its answer (the retry waits 50 ms at least).
    const storedAtCut = (await inspector.storedSpanIds(table)).length;
    const result = await exporting;
    expect(storedAtCut).toBe(500);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(await spill.files()).toEqual([]);
    expect(proxy.cuts).toBe(1);
    expect(logs.logs.some((l) => /write of 500 rows failed \(attempt 1\)/.test(l.message))).toBe(true);
    const ids = spans.map((s) => s.spanContext().spanId);
    expect(compareStored(ids, await inspector.storedSpanIds(table))).toMatchObject({
      stored: 500,
      missing: 0,
      twice: 0,
    });
  });
});
