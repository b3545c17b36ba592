/**
 * One writer of the many_writers rows: a process of its own that makes spans
 * for `rows` rows, connects a MetricEventsSpanProcessor with its defaults to
 * the table, prints `ready`, waits for a line on stdin, ends every span
 * through the processor (endThroughProcessor: forceFlush at the end, every row
 * stored), and prints its figures as JSON: wall milliseconds, the
 * milliseconds of each batch's write to the database (the sink's write, from
 * its call to its durable end), and the process's CPU time (all threads).
 *
 *   node --import tsx bench/support/writer-child.ts <url> <table> <rows> <spillDir>
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { llamonitor } from './built.js';
import { endThroughProcessor, spansForRows } from './export-spans.js';
import type { Sink } from '../../src/sinks/sink.js';

const [url, table, rowCount, spillDir] = process.argv.slice(2) as [string, string, string, string];
const { spans } = spansForRows(Number(rowCount));
const processor = new llamonitor.MetricEventsSpanProcessor({ url, table, spillDir, warnings: false });
await processor.exporter.ready();
// The sink the exporter writes through (internal): each write timed from its call to its end.
const sink = (await (processor.exporter as unknown as { sink(): Promise<Sink> }).sink()) as Sink;
const writeMillis: number[] = [];
const write = sink.write.bind(sink);
sink.write = async (rows, signal) => {
  const start = performance.now();
  await write(rows, signal);
  writeMillis.push(performance.now() - start);
};
process.stdout.write('ready\n');
process.stdin.resume();
await once(process.stdin, 'data');
const start = performance.now();
const cpu = process.cpuUsage();
await endThroughProcessor(processor, spans, 8192);
const millis = performance.now() - start;
const used = process.cpuUsage(cpu);
await processor.shutdown();
process.stdout.write(`${JSON.stringify({ millis, writeMillis, cpuMicros: used.user + used.system })}\n`);
process.exit(0);
