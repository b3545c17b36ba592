// npm run demo: an application's OpenAI calls become metric_events rows in Parquet files, with nothing to
// set up and no request leaving this machine.
//
// The official `openai` client talks to a fake OpenAI-compatible server on 127.0.0.1. OpenInference's
// instrumentation makes a span of each call; MetricEventsSpanProcessor turns each LLM span into one row of
// ./llamonitor-data/metric_events/date=YYYY-MM-DD/*.parquet (the default store). Then DuckDB reads them back.
import { context } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { setSession } from '@arizeai/openinference-core';
import { OpenAIInstrumentation } from '@arizeai/openinference-instrumentation-openai';
import { DuckDBInstance } from '@duckdb/node-api';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import * as openaiModule from 'openai';
import { FAKE_API_KEY, startFakeLlmServer } from './support/fake-llm-server.mjs';
import { solidPng } from './support/png.mjs';

const provider = new NodeTracerProvider({ spanProcessors: [new MetricEventsSpanProcessor()] });
provider.register();
// This file is an ES module: `import` passes no hook the instrumentation can use, so it is given the module.
new OpenAIInstrumentation().manuallyInstrument(openaiModule);

const server = await startFakeLlmServer();
const openai = new openaiModule.OpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY, maxRetries: 0 });
const started = new Date();
const session = `support-chat-${started.toISOString().slice(11, 19).replaceAll(':', '')}`;

// 1. A conversation of two turns, in a session (OpenInference's setSession).
await context.with(setSession(context.active(), { sessionId: session }), async () => {
  for (const question of ['My order #1234 has not arrived.', 'Can I change the delivery address?']) {
    await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: question }],
    });
  }
});

// 2. A question about an image (a 640×480 PNG, inline as base64), with no session set.
const png = solidPng(640, 480).toString('base64');
await openai.chat.completions.create({
  model: 'gpt-4o-mini',
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What colour is this?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
      ],
    },
  ],
});

await provider.shutdown(); // flushes, writes the open Parquet file, closes
await server.close();

// What was written, read back by DuckDB: numbers as numbers (JSON values cast), this run's rows only.
const duck = await (await DuckDBInstance.create(':memory:')).connect();
const reader = await duck.runAndReadAll(
  `SELECT operation_name, model, session_id,
          CAST(input_tokens AS INTEGER) AS input_tokens, CAST(output_tokens AS INTEGER) AS output_tokens,
          round(cost_usd, 8) AS cost_usd,
          text_char_count AS answer_chars, text_word_count AS answer_words,
          coalesce(image_count, 0) AS images, image_width, image_height, round(duration_ms, 1) AS ms
     FROM read_parquet('llamonitor-data/metric_events/**/*.parquet', union_by_name = true)
    WHERE "timestamp" >= $started::TIMESTAMPTZ ORDER BY "timestamp"`,
  { started: started.toISOString() },
);
console.log(
  `\nThe ${reader.currentRowCount} calls of this run, one row each, in llamonitor-data/metric_events/:`,
);
console.table(reader.getRowObjects());
console.log(
  `The first two rows carry the session the application set ('${session}'). The third call had no session:\n` +
    'its session_id is its trace id (32 hex digits), since every row has one. A session_id that looks like a\n' +
    'trace id means no session was set for that call.',
);
console.log(
  '\nQuery the rows yourself, for example with the DuckDB CLI (https://duckdb.org):\n' +
    `  duckdb -c "SELECT session_id, model, count(*) AS calls, sum(input_tokens) AS input_tokens, sum(cost_usd) AS cost_usd FROM read_parquet('llamonitor-data/metric_events/**/*.parquet', union_by_name = true) GROUP BY ALL"`,
);
console.log(
  '\nSee them in a browser: the dashboard and the API over these files, until Ctrl-C:\n' +
    '  npx llamonitor serve --url ./llamonitor-data   # then open http://127.0.0.1:8080',
);
