/**
 * A process for the memory test: an application ending spans fast while its
 * database cannot be reached, measured after each garbage collection.
 *
 *   node --expose-gc --import tsx test/faults/memory-child.ts <postgres url> <spill dir> <outage seconds> <refuse|blackhole>
 *
 * Prints one JSON line: heap and RSS samples after a full GC (bytes, one a
 * second, before and during the outage), spans ended, spill bytes on disk at the end.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import pg from 'pg';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const [url, spillDir, outageSeconds, kind] = process.argv.slice(2) as [string, string, string, string];
const MAX_INFLIGHT_BYTES = 4 * 1024 * 1024;
const SPILL_MAX_BYTES = 8 * 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const proxy = await TcpProxy.forUrl(url);
// Connections opened while the network is silent hang until this timeout, holding their callers' closures.
const throughProxy = new URL(proxy.url(url));
throughProxy.searchParams.set('connect_timeout', '2');
const exporter = new MetricEventsSpanExporter({
  url: throughProxy.toString(),
  table: `memory_${process.pid}`,
  spillDir,
  exportTimeoutMillis: 10_000,
  maxInflightBytes: MAX_INFLIGHT_BYTES,
  spillMaxBytes: SPILL_MAX_BYTES,
});
await exporter.ready();

/** Ended spans, handed to the exporter in batches by the load loop. */
let finished: ReadableSpan[] = [];
const provider = new BasicTracerProvider({
  spanProcessors: [
    {
      onStart: () => {},
      onEnd: (span: ReadableSpan) => void finished.push(span),
      forceFlush: async () => {},
      shutdown: async () => {},
    },
  ],
});
const tracer = provider.getTracer('memory-test');

let ended = 0;
const completion = JSON.stringify([
  { role: 'assistant', parts: [{ type: 'text', content: 'an answer of some length, '.repeat(30) }] },
]);
// About 1,000 spans a second of rows near 1.5 KB each, exported every 50 ms without waiting for
// the exports before: what several BatchSpanProcessors, or one whose export timeout is shorter
// than the exporter's deadline, would do. Without a bound, the rows of every export waiting on
// the silent database would pile up.
const load = setInterval(() => {
  for (let i = 0; i < 10; i++) {
    tracer
      .startSpan('chat gpt-4o-mini', {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 812,
          'gen_ai.usage.output_tokens': 96,
          'gen_ai.output.messages': completion,
          'session.id': `session-${ended % 97}`,
        },
      })
      .end();
    ended++;
  }
  if (finished.length >= 50) {
    exporter.export(finished, () => {});
    finished = [];
  }
}, 10);

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));
function sample() {
  gc!();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const before: { heapUsed: number; rss: number }[] = [];
for (let second = 0; second < 4; second++) {
  await sleep(1_000);
  before.push(sample());
}
if (kind === 'blackhole') proxy.blackhole();
else proxy.refuse();
const samples: { heapUsed: number; rss: number }[] = [];
for (let second = 0; second < Number(outageSeconds); second++) {
  await sleep(1_000);
  samples.push(sample());
}
clearInterval(load);
await exporter.forceFlush().catch(() => undefined); // the last spills done, and the cap enforced after them
const spillBytes = readdirSync(spillDir)
  .filter((name) => name.startsWith('spill-'))
  .reduce((sum, name) => sum + statSync(join(spillDir, name)).size, 0);
process.stdout.write(
  `${JSON.stringify({ before, samples, ended, spillBytes, maxInflightBytes: MAX_INFLIGHT_BYTES, spillMaxBytes: SPILL_MAX_BYTES })}\n`,
);
await exporter.shutdown().catch(() => undefined);
await proxy.stop();
const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`DROP TABLE IF EXISTS memory_${process.pid}`);
await admin.end();
process.exit(0);
