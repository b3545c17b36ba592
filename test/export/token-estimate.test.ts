/**
 * The exporter counts the tokens of calls whose spans carry no usage in its
 * worker thread, so it runs the built package (a Worker runs a .js file).
 * The expected counts come from js-tiktoken, another implementation of the
 * same encodings, never from the package's own tokenizer.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { getEncoding } from 'js-tiktoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBuilt } from '../support/built-package.js';
import { loadCapturedSpans } from '../support/captured-span.js';
import { CHAT_QUESTION, EMBEDDING_INPUT } from '../support/capture/prompts.js';
import { CHAT_ANSWER } from '../support/fake-llm-server.js';
import { MemorySink } from '../support/memory-sink.js';
import type { MetricEventsExporterOptions } from '../../src/config/options.js';
import type { ExporterInternals } from '../../src/export/exporter.js';
import type { MetricEvent } from '../../src/schema/columns.js';

const { MetricEventsSpanExporter } =
  await importBuilt<typeof import('../../src/export/exporter.js')>('export/exporter.js');
const { MAX_ESTIMATED_CHARS_PER_EXPORT, TokenEstimator } =
  await importBuilt<typeof import('../../src/export/token-estimator.js')>('export/token-estimator.js');
const { ConsoleWarnings } = await importBuilt<typeof import('../../src/warnings.js')>('warnings.js');
const { CHAT_FRAMING_TOKENS } =
  await importBuilt<typeof import('../../src/mapping/token-estimate.js')>('mapping/token-estimate.js');

const o200k = getEncoding('o200k_base');
const cl100k = getEncoding('cl100k_base');
/** Tokens of a text as plain text: special-token markers are not refused (js-tiktoken's default would throw). */
const tokens = (encoding: typeof o200k, text: string) => encoding.encode(text, [], []).length;

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'llamonitor-token-estimate-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

interface Exported {
  readonly rows: readonly MetricEvent[];
  readonly warnings: readonly string[];
}

async function exportSpans(
  spans: ReadableSpan[],
  options: MetricEventsExporterOptions = {},
  internals: ExporterInternals = {},
): Promise<Exported> {
  const sink = new MemorySink();
  const lines: string[] = [];
  const warnings = new ConsoleWarnings(true, (line) => lines.push(line), new Set());
  const exporter = MetricEventsSpanExporter.withSink(
    sink,
    { spillDir: join(folder, 'spill'), ...options },
    { warnings, ...internals },
  );
  const result = await new Promise<{ code: number }>((resolve) => exporter.export(spans, resolve));
  await exporter.shutdown();
  expect(result.code).toBe(0);
  return { rows: sink.rows, warnings: lines };
}

/** OpenLLMetry's streamed chat span as captured, asking `prompt` instead. */
function streamedChatAsking(prompt: string): ReadableSpan {
  const [span] = loadCapturedSpans('openllmetry-openai', 'chat-stream').filter((s) =>
    s.name.startsWith('chat'),
  );
  return {
    ...span!,
    attributes: {
      ...span!.attributes,
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: prompt }] }]),
    },
  } as ReadableSpan;
}

function modelCallRow(rows: readonly MetricEvent[]): MetricEvent {
  const calls = rows.filter((row) => row.operation_type === 'llm_call' || row.operation_type === 'embedding');
  expect(calls).toHaveLength(1);
  return calls[0]!;
}

describe('a streamed chat whose span carries no usage', () => {
  it('OpenLLMetry: the prompt’s tokens with the chat framing, and the answer’s', async () => {
    const { rows } = await exportSpans(loadCapturedSpans('openllmetry-openai', 'chat-stream'));
    const input = tokens(o200k, CHAT_QUESTION) + CHAT_FRAMING_TOKENS;
    const output = tokens(o200k, CHAT_ANSWER.text!);
    expect(modelCallRow(rows)).toMatchObject({
      input_tokens: input,
      output_tokens: output,
      total_tokens: input + output,
      cost_usd: expect.any(Number),
    });
  });

  it('is priced as estimated, and the row says so', async () => {
    const { rows } = await exportSpans(loadCapturedSpans('openinference-openai', 'chat-stream'));
    const row = modelCallRow(rows);
    expect(row.cost_usd).toBeGreaterThan(0);
    expect(row.text_custom_metrics).toMatchObject({
      cost_source: 'estimated',
      priced_as: 'openai:gpt-4o-mini',
      tokens_estimated: true,
      tokenizer: 'o200k_base',
    });
  });
});

it('an OpenInference embedding: its input’s cl100k_base tokens, no output tokens', async () => {
  const { rows } = await exportSpans(loadCapturedSpans('openinference-openai', 'embedding'));
  const input = tokens(cl100k, EMBEDDING_INPUT);
  expect(modelCallRow(rows)).toMatchObject({
    input_tokens: input,
    output_tokens: null,
    total_tokens: input,
    text_custom_metrics: expect.objectContaining({ cost_source: 'estimated', tokenizer: 'cl100k_base' }),
  });
});

it('a span that carries usage keeps the counts it reported', async () => {
  const { rows } = await exportSpans(loadCapturedSpans('openllmetry-openai', 'chat'));
  const row = modelCallRow(rows);
  expect(row.input_tokens).toBe(CHAT_ANSWER.usage.prompt_tokens);
  expect(row.text_custom_metrics).not.toHaveProperty('tokens_estimated');
  expect(row.text_custom_metrics?.['cost_source']).toBe('computed');
});

it('estimateTokens: false stores the streamed call without tokens or cost', async () => {
  const { rows } = await exportSpans(loadCapturedSpans('openllmetry-openai', 'chat-stream'), {
    estimateTokens: false,
  });
  const row = modelCallRow(rows);
  expect(row).toMatchObject({ input_tokens: null, output_tokens: null, cost_usd: null });
  expect(row.text_custom_metrics?.['cost_source']).toBe('no_usage');
});

it('rows keep their order, each estimated or not by its own span', async () => {
  const spans = [
    ...loadCapturedSpans('openllmetry-openai', 'chat-stream'),
    ...loadCapturedSpans('openllmetry-openai', 'chat'),
    ...loadCapturedSpans('openinference-openai', 'embedding'),
  ];
  const { rows } = await exportSpans(spans);
  const calls = rows.filter((row) => row.operation_type !== 'other');
  expect(calls.map((row) => [row.operation_type, row.text_custom_metrics?.['cost_source']])).toEqual([
    ['llm_call', 'estimated'],
    ['llm_call', 'computed'],
    ['embedding', 'estimated'],
  ]);
});

it('a special-token marker in a prompt is counted as the text it is', async () => {
  const prompt = 'Explain what <|endoftext|> and <|im_start|> mean.';
  const { rows } = await exportSpans([streamedChatAsking(prompt)]);
  expect(modelCallRow(rows).input_tokens).toBe(tokens(o200k, prompt) + CHAT_FRAMING_TOKENS);
});

it('enrich sees the estimated tokens', async () => {
  const seen: unknown[] = [];
  await exportSpans(loadCapturedSpans('openllmetry-openai', 'chat-stream'), {
    enrich: (_span, event) => {
      seen.push(event.output_tokens);
      return event;
    },
  });
  expect(seen).toContain(tokens(o200k, CHAT_ANSWER.text!));
});

it('one export sends at most MAX_ESTIMATED_CHARS_PER_EXPORT characters to be counted: the rows past it keep null tokens', async () => {
  const prompt = 'word '.repeat(180_000); // 900,000 characters: read whole (under maxMeasuredBytes)
  const promptSpan = streamedChatAsking(prompt);
  const answer = CHAT_ANSWER.text!.length;
  const fit = Math.floor(MAX_ESTIMATED_CHARS_PER_EXPORT / (prompt.length + answer));
  const { rows } = await exportSpans(Array.from({ length: fit + 2 }, () => promptSpan));
  const calls = rows.filter((row) => row.operation_type === 'llm_call');
  expect(calls).toHaveLength(fit + 2);
  expect(calls.slice(0, fit).map((row) => row.input_tokens)).toEqual(
    Array.from({ length: fit }, () => tokens(o200k, prompt) + CHAT_FRAMING_TOKENS),
  );
  expect(calls.slice(fit).map((row) => row.input_tokens)).toEqual([null, null]);
});

describe('when the worker cannot count, the rows are stored without tokens', () => {
  it('a worker that fails: rows stored, one warning that says why', async () => {
    const broken = new TokenEstimator(pathToFileURL(join(folder, 'no-such-worker.js')));
    const { rows, warnings } = await exportSpans(
      loadCapturedSpans('openllmetry-openai', 'chat-stream'),
      {},
      { tokenEstimator: broken },
    );
    expect(modelCallRow(rows)).toMatchObject({ input_tokens: null, output_tokens: null });
    expect(warnings).toEqual([expect.stringContaining('could not count the tokens')]);
  });

  it('a worker that never answers: rows stored once the wait ends, one warning', async () => {
    const silent = join(folder, 'silent-worker.mjs');
    await writeFile(
      silent,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => {});\n",
    );
    const { rows, warnings } = await exportSpans(
      loadCapturedSpans('openllmetry-openai', 'chat-stream'),
      { exportTimeoutMillis: 400 },
      { tokenEstimator: new TokenEstimator(pathToFileURL(silent)) },
    );
    expect(modelCallRow(rows)).toMatchObject({ input_tokens: null, cost_usd: null });
    expect(warnings).toEqual([expect.stringContaining('took longer than 100 ms')]);
  });
});
