// npm run demo: an application's LLM calls become metric_events rows in Parquet files, no server needed.
//
// A tracer provider with MetricEventsSpanProcessor (a BatchSpanProcessor around the exporter, which
// also carries a session down its trace), all defaults: rows go to
// ./llamonitor-data/metric_events/date=YYYY-MM-DD/*.parquet. The spans carry the attributes the
// OpenTelemetry GenAI conventions define (what OpenLLMetry, the contrib OpenAI instrumentation and
// the Vercel AI SDK 7 emit); no network call is made. Then the files are read back with DuckDB.
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { DuckDBInstance } from '@duckdb/node-api';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import { solidPng } from './support/png.mjs';

// url ./llamonitor-data, table metric_events; `new BatchSpanProcessor(new MetricEventsSpanExporter())` works too.
const provider = new NodeTracerProvider({ spanProcessors: [new MetricEventsSpanProcessor()] });
provider.register();
const tracer = trace.getTracer('demo-app', '1.0.0');

const run = new Date().toISOString().slice(11, 19).replaceAll(':', '');
const session = `support-chat-${run}`;
const traceIds = [];

const messages = (role, text) => JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }]);

/** One model call, shaped as the OpenTelemetry GenAI conventions say. */
async function chat(parent, { prompt, answer, toolCall, inputTokens, outputTokens, extra = {}, fail }) {
  const ctx = parent ? trace.setSpan(context.active(), parent) : context.active();
  const span = tracer.startSpan(
    'chat gpt-4o-mini',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.input.messages':
          typeof prompt === 'string' ? messages('user', prompt) : JSON.stringify(prompt),
        ...extra,
      },
    },
    ctx,
  );
  if (!parent) traceIds.push(span.spanContext().traceId);
  await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30)); // the model "thinks"
  if (fail) {
    span.recordException({ name: 'RateLimitError', message: fail });
    span.setAttribute('error.type', 'RateLimitError');
    span.setStatus({ code: SpanStatusCode.ERROR, message: fail });
  } else {
    span.setAttributes({
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.finish_reasons': [toolCall ? 'tool_calls' : 'stop'],
      'gen_ai.usage.input_tokens': inputTokens,
      'gen_ai.usage.output_tokens': outputTokens,
      'gen_ai.output.messages': JSON.stringify([
        {
          role: 'assistant',
          parts: [toolCall ? { type: 'tool_call', ...toolCall } : { type: 'text', content: answer }],
          finish_reason: toolCall ? 'tool_calls' : 'stop',
        },
      ]),
    });
  }
  span.end();
}

// 1. A chat within a session: two turns.
for (const [prompt, answer] of [
  [
    'My order #1234 has not arrived.',
    'I am sorry to hear that. It left our warehouse yesterday\nand should arrive tomorrow.',
  ],
  ['Can I change the address?', 'Yes: reply with the new address and I will update the delivery.'],
]) {
  await chat(undefined, {
    prompt,
    answer,
    inputTokens: 40,
    outputTokens: 24,
    extra: { 'gen_ai.conversation.id': session },
  });
}

// 2. A chat with an image input (a 640×480 PNG, sent inline as base64).
await chat(undefined, {
  prompt: [
    {
      role: 'user',
      parts: [
        { type: 'text', content: 'What colour is this?' },
        {
          type: 'blob',
          modality: 'image',
          mime_type: 'image/png',
          content: solidPng(640, 480).toString('base64'),
        },
      ],
    },
  ],
  answer: 'It is a calm steel blue.',
  inputTokens: 289,
  outputTokens: 8,
});

// 3. A tool call under an agent span. Only the agent span names the session: its children inherit it.
const agent = tracer.startSpan('invoke_agent weather-agent', {
  kind: SpanKind.INTERNAL,
  attributes: {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': 'weather-agent',
    'gen_ai.conversation.id': `weather-${run}`,
  },
});
traceIds.push(agent.spanContext().traceId);
await chat(agent, {
  prompt: 'What is the weather in Lisbon?',
  toolCall: { id: 'call_1', name: 'get_weather', arguments: { city: 'Lisbon' } },
  inputTokens: 52,
  outputTokens: 18,
});
const tool = tracer.startSpan(
  'execute_tool get_weather',
  {
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'get_weather',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.call.arguments': '{"city":"Lisbon"}',
      'gen_ai.tool.call.result': '{"city":"Lisbon","celsius":21,"sky":"clear"}',
    },
  },
  trace.setSpan(context.active(), agent),
);
tool.end();
await chat(agent, {
  prompt: 'Tool result: 21 °C, clear sky.',
  answer: 'It is 21 °C and clear in Lisbon.',
  inputTokens: 80,
  outputTokens: 12,
});
agent.end();

// 4. A failed call.
await chat(undefined, { prompt: 'Summarise this report.', fail: 'Rate limit reached for gpt-4o-mini (429)' });

await provider.shutdown(); // flushes, writes the open Parquet file, closes

// What was written, read back from the files by DuckDB.
const duck = await (await DuckDBInstance.create(':memory:')).connect();
const files = `read_parquet('llamonitor-data/metric_events/**/*.parquet', hive_partitioning = true)`;
const thisRun = `trace_id IN (${traceIds.map((id) => `'${id}'`).join(', ')})`;
async function table(title, sql) {
  const rows = (await duck.runAndReadAll(sql)).getRowObjectsJson();
  console.log(`\n${title}`);
  console.table(rows);
}
await table(
  'Rows per operation type',
  `SELECT operation_type, count(*) AS rows FROM ${files} WHERE ${thisRun} GROUP BY 1 ORDER BY 1`,
);
await table(
  'Tokens and text per call',
  `SELECT operation_name, text_custom_metrics->>'input_tokens' AS input_tokens,
          text_custom_metrics->>'output_tokens' AS output_tokens, text_char_count, text_word_count, round(duration_ms, 1) AS ms
     FROM ${files} WHERE ${thisRun} AND operation_type = 'llm_call' ORDER BY timestamp`,
);
await table(
  'Images',
  `SELECT operation_name, image_count, image_width, image_height, image_format, image_file_size_bytes
     FROM ${files} WHERE ${thisRun} AND image_count > 0`,
);
await table(
  'Errors',
  `SELECT operation_name, error_type, error FROM ${files} WHERE ${thisRun} AND error IS NOT NULL`,
);
await table(
  'Sessions',
  `SELECT session_id, count(*) AS rows, min(timestamp) AS first_call FROM ${files} WHERE ${thisRun} GROUP BY 1 ORDER BY 3`,
);
const [{ files: fileCount, rows: total }] = (
  await duck.runAndReadAll(
    `SELECT count(DISTINCT filename) AS files, count(*) AS rows FROM read_parquet('llamonitor-data/metric_events/**/*.parquet', filename = true)`,
  )
).getRowObjectsJson();
console.log(
  `\nllamonitor-data/metric_events holds ${total} rows in ${fileCount} Parquet ${Number(fileCount) === 1 ? 'file' : 'files'} (this run and earlier ones).`,
);
