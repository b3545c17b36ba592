/**
 * `metrics: 'otel'`: the GenAI metrics of what the Vercel AI SDK 6 really
 * emits (a chat, a streamed chat, a tool loop, an embedding, a call answered
 * 429), ended through MetricEventsSpanProcessor against the fake server,
 * agree with the rows it stored in Parquet, read back by DuckDB: each model
 * call once (the wrapper spans left out), its tokens, cost and first-chunk
 * time, with the attributes and bucket boundaries of the GenAI conventions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricEventsSpanProcessor as Processor } from '../../src/export/processor.js';
import { SECONDS_BUCKETS, TOKEN_BUCKETS } from '../../src/metrics/genai-metrics.js';
import { importBuilt } from '../support/built-package.js';
import { liveCapture } from '../support/capture/live.js';
import { ai6 } from '../support/capture/targets/ai6.js';
import { CHAT_MODEL } from '../support/capture/prompts.js';
import { queryDataset } from '../support/parquet-readers.js';
import {
  collectingMeterProvider,
  counterSum,
  histogramCount,
  histogramSum,
  pointsWith,
  type Collected,
} from './collected-metrics.js';

// The built package: the Parquet sink converts its files in a worker thread that runs dist/.
const { MetricEventsSpanExporter, MetricEventsSpanProcessor } =
  await importBuilt<typeof import('../../src/index.js')>('index.js');
const { ConsoleWarnings } = await importBuilt<typeof import('../../src/warnings.js')>('warnings.js');

const SCENARIOS = ['chat', 'chat-stream', 'agent-loop', 'embedding', 'error-429'];
/** The attributes a data point may carry: the conventions' and the token detail; never an id. */
const ALLOWED_ATTRIBUTES = new Set([
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.token.type',
  'error.type',
  'llamonitor.token.detail',
]);

const folder = mkdtempSync(join(tmpdir(), 'llamonitor-otel-metrics-'));
const dataset = join(folder, 'metric_events');
const meters = collectingMeterProvider();
const warnings: string[] = [];
let processor: Processor;

const live = liveCapture(ai6, {
  spanProcessors: async () => {
    const exporter = new MetricEventsSpanExporter(
      { url: folder, spillDir: `${folder}-spill`, meterProvider: meters.provider },
      {},
      { warnings: new ConsoleWarnings(true, (line) => warnings.push(line), new Set()) },
    );
    processor = new MetricEventsSpanProcessor({ exporter });
    return [processor];
  },
});

/** Model calls as `llamonitor stats` counts them: a model named, no `aggregate` key. */
const MODEL_CALLS = `FROM {dataset} WHERE model IS NOT NULL AND json_extract(text_custom_metrics, '$.aggregate') IS NULL`;
let collected: Collected;
const one = async (sql: string) => Object.values((await queryDataset(dataset, sql))[0]!)[0];

beforeAll(async () => {
  for (const scenario of SCENARIOS) await live.run(scenario);
  await processor.forceFlush();
  collected = await meters.collect();
});

afterAll(async () => {
  await meters.provider.shutdown();
  rmSync(folder, { recursive: true, force: true });
  rmSync(`${folder}-spill`, { recursive: true, force: true });
});

describe("metrics: 'otel', from what the AI SDK 6 emits", () => {
  it('counts each model call once in gen_ai.client.operation.duration: the wrapper rows are left out', async () => {
    const wrappers = Number(
      await one(
        `SELECT count(*) FROM {dataset} WHERE json_extract(text_custom_metrics, '$.aggregate') = 'true'`,
      ),
    );
    const calls = Number(await one(`SELECT count(*) ${MODEL_CALLS}`));
    expect(wrappers).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(0);
    expect(histogramCount(collected.histogram('gen_ai.client.operation.duration'))).toBe(calls);
  });

  it('records each call by the model it asked for and the one that answered, with the duration of its row', async () => {
    const byModel = await queryDataset(
      dataset,
      `SELECT model, count(*) AS calls, sum(duration_ms) / 1000 AS seconds ${MODEL_CALLS} GROUP BY model ORDER BY model`,
    );
    const points = collected.histogram('gen_ai.client.operation.duration');
    for (const { model, calls, seconds } of byModel) {
      const ofModel = pointsWith(points, { 'gen_ai.request.model': model as string });
      expect(histogramCount(ofModel), String(model)).toBe(Number(calls));
      expect(histogramSum(ofModel)).toBeCloseTo(seconds as number, 9);
    }
    expect(byModel.map((row) => row.model)).toContain(CHAT_MODEL);
    expect(pointsWith(points, { 'gen_ai.request.model': CHAT_MODEL })[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.response.model': expect.stringMatching(/^gpt-4o-mini-/),
    });
  });

  it("gives a failed call error.type, the row's error_type, on its duration, once", async () => {
    const failed = await queryDataset(
      dataset,
      `SELECT error_type, count(*) AS calls ${MODEL_CALLS} AND error IS NOT NULL GROUP BY 1`,
    );
    expect(failed).toEqual([{ error_type: 'AI_APICallError', calls: 1n }]);
    const points = collected.histogram('gen_ai.client.operation.duration');
    expect(histogramCount(pointsWith(points, { 'error.type': 'AI_APICallError' }))).toBe(1);
    expect(points.filter((point) => 'error.type' in point.attributes)).toHaveLength(1);
  });

  it('sums input and output tokens by gen_ai.token.type to the token columns', async () => {
    const points = collected.histogram('gen_ai.client.token.usage');
    const input = Number(await one(`SELECT sum(input_tokens) ${MODEL_CALLS}`));
    const output = Number(await one(`SELECT sum(output_tokens) ${MODEL_CALLS}`));
    expect(input).toBeGreaterThan(0);
    expect(histogramSum(pointsWith(points, { 'gen_ai.token.type': 'input' }))).toBe(input);
    expect(histogramSum(pointsWith(points, { 'gen_ai.token.type': 'output' }))).toBe(output);
    expect(new Set(points.map((point) => point.attributes['gen_ai.token.type']))).toEqual(
      new Set(['input', 'output']),
    );
  });

  it('counts cache reads and reasoning apart from gen_ai.token.type, in llamonitor.client.token.detail', async () => {
    const points = collected.counter('llamonitor.client.token.detail');
    const cacheRead = Number(await one(`SELECT coalesce(sum(cache_read_tokens), 0) ${MODEL_CALLS}`));
    const reasoning = Number(await one(`SELECT coalesce(sum(reasoning_tokens), 0) ${MODEL_CALLS}`));
    expect(cacheRead).toBeGreaterThan(0);
    expect(counterSum(pointsWith(points, { 'llamonitor.token.detail': 'cache_read' }))).toBe(cacheRead);
    expect(counterSum(pointsWith(points, { 'llamonitor.token.detail': 'reasoning' }))).toBe(reasoning);
  });

  it('adds each call’s cost_usd to llamonitor.client.cost', async () => {
    const cost = Number(await one(`SELECT sum(cost_usd) ${MODEL_CALLS}`));
    expect(cost).toBeGreaterThan(0);
    expect(counterSum(collected.counter('llamonitor.client.cost'))).toBeCloseTo(cost, 12);
  });

  it('records the first-chunk time of the streamed call, and of no other', async () => {
    const streamed = await queryDataset(
      dataset,
      `SELECT time_to_first_token_ms AS ms ${MODEL_CALLS} AND time_to_first_token_ms IS NOT NULL`,
    );
    const points = collected.histogram('gen_ai.client.operation.time_to_first_chunk');
    expect(streamed).toHaveLength(1);
    expect(histogramCount(points)).toBe(1);
    expect(histogramSum(points)).toBeCloseTo((streamed[0]!.ms as number) / 1000, 9);
  });

  it('uses the bucket boundaries the GenAI conventions advise', () => {
    const boundaries = (name: string) => collected.histogram(name)[0]?.value.buckets.boundaries;
    expect(boundaries('gen_ai.client.token.usage')).toEqual(TOKEN_BUCKETS);
    expect(boundaries('gen_ai.client.operation.duration')).toEqual(SECONDS_BUCKETS);
    expect(boundaries('gen_ai.client.operation.time_to_first_chunk')).toEqual(SECONDS_BUCKETS);
    expect(TOKEN_BUCKETS.at(-1)).toBe(67108864);
    expect(SECONDS_BUCKETS.at(-1)).toBe(81.92);
  });

  it('puts no session, user, trace or span id on any data point', () => {
    const keys = new Set<string>();
    for (const metric of collected.metrics.values())
      for (const point of metric.dataPoints) for (const key of Object.keys(point.attributes)) keys.add(key);
    expect(keys.size).toBeGreaterThan(3);
    expect([...keys].filter((key) => !ALLOWED_ATTRIBUTES.has(key))).toEqual([]);
  });

  it('prints no warning: the provider was given', () => {
    expect(warnings).toEqual([]);
  });
});
