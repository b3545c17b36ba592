/**
 * One of the many writers of test/sinks/many-writers.test.ts: a process with
 * its own exporter (the built package, behind OpenTelemetry's
 * BatchSpanProcessor), its own spill folder (which may hold spilled batches at
 * start, replayed in the background), and retention on. It ends `spans` GenAI
 * chat spans whose conversation id is `writer-<n>`, waits until its spill
 * folder holds no batch and a retention run of its own has finished, shuts
 * down, and prints `done <n>`.
 *
 *   node --import tsx test/support/many-writers-child.ts <url> <table> <spillDir> <n> <spans>
 */
import { readdirSync } from 'node:fs';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { importBuilt } from './built-package.js';

const { MetricEventsSpanExporter } =
  await importBuilt<typeof import('../../src/export/exporter.js')>('export/exporter.js');

const [url, table, spillDir, writer, spanCount] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];

const exporter = new MetricEventsSpanExporter(
  { url, table, spillDir, retentionDays: 30, estimateTokens: false },
  {},
  {
    retentionTiming: { firstDelayMillis: 20, intervalMillis: 200 },
    replayIntervalMillis: 20,
  },
);
const provider = new BasicTracerProvider({
  spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 64, scheduledDelayMillis: 20 })],
});
const tracer = provider.getTracer('many-writers');

for (let i = 0; i < Number(spanCount); i++) {
  const span = tracer.startSpan('chat gpt-4o-mini', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.conversation.id': `writer-${writer}`,
      'gen_ai.usage.input_tokens': 10 + i,
      'gen_ai.usage.output_tokens': 5,
    },
  });
  span.end();
  if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
}
await provider.forceFlush();

// The spilled batches this writer found at start: replayed in the background, then the folder is empty.
const spilled = () => readdirSync(spillDir).filter((name) => name.startsWith('spill-')).length;
for (let i = 0; i < 3000 && spilled() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
// A retention run of this writer's own that finished: runs that found the lease held (another
// writer's turn) or failed (said on stderr, which the test prints) come again every 200 ms.
let pruned = false;
for (let i = 0; i < 3000 && !pruned; i++) {
  pruned = (await exporter.retention?.current) !== undefined;
  if (!pruned) await new Promise((resolve) => setTimeout(resolve, 10));
}
await provider.shutdown();
process.stdout.write(`done ${writer} spilled-left ${spilled()} pruned ${pruned}\n`);
