/**
 * `llamonitor serve`'s REST API against each real store: rows written through
 * the package's sinks, asked for over HTTP, every figure compared with what
 * this test works out from the same rows (percentiles by each store's
 * documented method), and every response checked against docs/openapi.json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type JsonObject, type MetricEvent } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';
import type { CallRow, GroupAggregates, TraceNode } from '../../src/sinks/call-queries.js';
import { SERVE_STORES, serveStore, type ServeStore, type ServedStore } from './stores.js';
import { apiValidator } from './openapi.js';

const HOUR = 3_600_000;
/** Whole hours, so that the buckets the test expects do not depend on the minute it runs. */
const NOW = Math.floor(Date.now() / HOUR) * HOUR;
const FROM = new Date(NOW - 6 * HOUR).toISOString();
const TO = new Date(NOW).toISOString();
const validate = apiValidator();

interface RowSpec {
  readonly session: string;
  readonly trace: number;
  readonly span: number;
  readonly parent?: number;
  readonly model: string | null;
  readonly operation?: MetricEvent['operation_type'];
  /** Minutes before NOW. */
  readonly minutesAgo: number;
  readonly durationMs: number | null;
  readonly ttftMs?: number;
  readonly input?: number;
  readonly output?: number;
  readonly cacheRead?: number;
  readonly cacheWrite?: number;
  readonly cost?: number;
  readonly error?: string;
  readonly user?: string;
  readonly metrics?: JsonObject;
  readonly prompt?: string;
}

let counter = 0;
function row(spec: RowSpec): MetricEvent {
  counter++;
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return fitRow({
    event_id: `00000000-0000-5000-8000-${hex(counter * 7919, 12)}`,
    schema_version: SCHEMA_VERSION,
    session_id: spec.session,
    trace_id: hex(spec.trace, 32),
    span_id: hex(spec.span, 16),
    parent_span_id: spec.parent === undefined ? null : hex(spec.parent, 16),
    operation_name: `${spec.operation ?? 'llm_call'} ${spec.model ?? ''}`.trim(),
    operation_type: spec.operation ?? 'llm_call',
    timestamp: new Date(NOW - spec.minutesAgo * 60_000).toISOString().replace('Z', '000Z'),
    duration_ms: spec.durationMs,
    text_custom_metrics: spec.metrics ?? null,
    custom_attributes:
      spec.prompt === undefined ? { model: spec.model } : { model: spec.model, prompt: spec.prompt },
    error: spec.error ?? null,
    model: spec.model,
    provider: spec.model === null ? null : spec.model.startsWith('claude') ? 'anthropic' : 'openai',
    input_tokens: spec.input ?? null,
    output_tokens: spec.output ?? null,
    cache_read_tokens: spec.cacheRead ?? null,
    cache_write_tokens: spec.cacheWrite ?? null,
    cost_usd: spec.cost ?? null,
    time_to_first_token_ms: spec.ttftMs ?? null,
    user_id: spec.user ?? null,
  });
}

/** Sessions of agents, tools and model calls over the last hours; one row older than the range. */
function rowsOfTheDay(): MetricEvent[] {
  return [
    // Session a: an agent (a wrapper that repeats its calls' usage), two model calls and a tool under it.
    row({
      session: 'sess-a',
      trace: 1,
      span: 1,
      model: 'gpt-4o',
      operation: 'agent',
      minutesAgo: 300,
      durationMs: 4000,
      metrics: { aggregate_input_tokens: 300, aggregate_output_tokens: 30 },
      user: 'ana',
    }),
    row({
      session: 'sess-a',
      trace: 1,
      span: 2,
      parent: 1,
      model: 'gpt-4o',
      minutesAgo: 299,
      durationMs: 1200,
      ttftMs: 300,
      input: 100,
      output: 10,
      cacheRead: 40,
      cost: 0.001,
      user: 'ana',
      prompt: 'What is the weather?',
    }),
    row({
      session: 'sess-a',
      trace: 1,
      span: 3,
      parent: 2,
      model: null,
      operation: 'tool_call',
      minutesAgo: 298,
      durationMs: 20,
      user: 'ana',
    }),
    row({
      session: 'sess-a',
      trace: 1,
      span: 4,
      parent: 1,
      model: 'gpt-4o',
      minutesAgo: 297,
      durationMs: 1800,
      ttftMs: 500,
      input: 200,
      output: 20,
      cacheWrite: 64,
      cost: 0.002,
      user: 'ana',
    }),
    // Session b: calls an hour apart, one failed, one to a model without a price.
    row({
      session: 'sess-b',
      trace: 2,
      span: 10,
      model: 'gpt-4o-mini',
      minutesAgo: 170,
      durationMs: 400,
      input: 50,
      output: 5,
      cost: 0.0001,
      user: 'bo',
    }),
    row({
      session: 'sess-b',
      trace: 3,
      span: 11,
      model: 'gpt-4o-mini',
      minutesAgo: 110,
      durationMs: 900,
      input: 60,
      error: 'rate limited',
      cost: 0.00005,
      user: 'bo',
    }),
    row({
      session: 'sess-b',
      trace: 4,
      span: 12,
      model: 'house-llm',
      minutesAgo: 50,
      durationMs: 250,
      ttftMs: 80,
      input: 10,
      output: 10,
      metrics: { cost_source: 'unknown_model' },
      user: 'bo',
    }),
    // Session c: Claude, streamed, the costliest session.
    row({
      session: 'sess-c',
      trace: 5,
      span: 20,
      model: 'claude-sonnet-4-5',
      minutesAgo: 40,
      durationMs: 2500,
      ttftMs: 700,
      input: 1000,
      output: 300,
      cacheRead: 500,
      cost: 0.02,
      user: 'cy',
    }),
    row({
      session: 'sess-c',
      trace: 5,
      span: 21,
      model: 'claude-sonnet-4-5',
      minutesAgo: 39,
      durationMs: 3100,
      ttftMs: 900,
      input: 1200,
      output: 100,
      cost: 0.018,
      user: 'cy',
    }),
    row({
      session: 'sess-c',
      trace: 5,
      span: 22,
      model: 'claude-sonnet-4-5',
      minutesAgo: 30,
      durationMs: null,
      input: 5,
      output: 1,
      cost: 0.0001,
      user: 'cy',
    }),
    // Outside the range: a day ago.
    row({
      session: 'sess-old',
      trace: 9,
      span: 90,
      model: 'gpt-4o',
      minutesAgo: 24 * 60,
      durationMs: 100,
      input: 1,
      output: 1,
      cost: 1,
    }),
  ];
}

/** The model calls among rows: a model named and no aggregate key (wrappers repeat their calls' usage). */
function isModelCall(row: MetricEvent): boolean {
  const metrics = row.text_custom_metrics ?? {};
  return (
    row.model !== null &&
    !('aggregate' in metrics) &&
    !('aggregate_input_tokens' in metrics) &&
    !('aggregate_output_tokens' in metrics)
  );
}

function inRange(row: MetricEvent): boolean {
  return row.timestamp >= FROM.replace('Z', '000Z') && row.timestamp < TO.replace('Z', '000Z');
}

/** What the API must answer for a group of model calls, worked out from the rows. */
function expectedAggregates(calls: readonly MetricEvent[], percentile: ServeStore['percentile']) {
  const sum = (pick: (row: MetricEvent) => number | bigint | null) =>
    calls.reduce((total, row) => total + Number(pick(row) ?? 0), 0);
  const sorted = (pick: (row: MetricEvent) => number | null) =>
    calls
      .map(pick)
      .filter((value): value is number => value !== null)
      .sort((a, b) => a - b);
  const at = (values: number[], p: number) => (values.length === 0 ? null : percentile(values, p));
  const latency = sorted((row) => row.duration_ms);
  const ttft = sorted((row) => row.time_to_first_token_ms ?? null);
  const errors = calls.filter((row) => row.error !== null).length;
  const priced = calls.filter((row) => row.cost_usd != null);
  return {
    calls: calls.length,
    errors,
    error_rate: errors / calls.length,
    input_tokens: sum((row) => row.input_tokens ?? null),
    output_tokens: sum((row) => row.output_tokens ?? null),
    cache_read_tokens: sum((row) => row.cache_read_tokens ?? null),
    cache_write_tokens: sum((row) => row.cache_write_tokens ?? null),
    cost_usd: priced.length === 0 ? null : sum((row) => row.cost_usd ?? null),
    unpriced: calls.filter(
      (row) => row.cost_usd == null && row.text_custom_metrics?.cost_source === 'unknown_model',
    ).length,
    latency_ms: { p50: at(latency, 0.5), p95: at(latency, 0.95), p99: at(latency, 0.99) },
    ttft_ms: { p50: at(ttft, 0.5), p95: at(ttft, 0.95) },
  };
}

/** Numbers compared to 9 significant digits: a database sums doubles in its own order. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number(value.toPrecision(9));
  if (Array.isArray(value)) return value.map(rounded);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, rounded(inner)]));
  return value;
}

/** A response body, as the OpenAPI document describes it (checked before use). */
interface Body {
  readonly [key: string]: unknown;
  readonly groups: GroupAggregates[];
  readonly points: unknown[];
  readonly calls: CallRow[];
  readonly sessions: { readonly session_id: string }[];
  readonly spans: TraceNode[];
  readonly next_cursor: string | null;
}

describe.each(SERVE_STORES)('llamonitor serve over $name', (store) => {
  let available = false;
  let served: ServedStore | undefined;
  const rows = rowsOfTheDay();

  beforeAll(async () => {
    available = await store.available();
    if (available) served = await serveStore(store, 'serve', rows, { now: () => NOW });
  }, 60_000);

  afterAll(async () => {
    await served?.close();
  });

  /** GET `path`; the body is checked against docs/openapi.json before the test reads it. */
  async function get(
    path: string,
    schemaPath = path.split('?')[0]!,
  ): Promise<{ status: number; body: Body }> {
    const response = await fetch(`${served!.url}${path}`);
    const body = (await response.json()) as Body;
    const problems = validate(schemaPath, response.status, body);
    expect(problems, `${path} answered ${JSON.stringify(body).slice(0, 400)}`).toEqual([]);
    return { status: response.status, body };
  }

  const range = `from=${encodeURIComponent(FROM)}&to=${encodeURIComponent(TO)}`;
  const calls = () => rows.filter((row) => inRange(row) && isModelCall(row));

  it('summary by model: every aggregate of every group, costliest first', async (context) => {
    if (!available) return context.skip();
    const { status, body } = await get(`/api/summary?${range}&by=model`);
    expect(status).toBe(200);
    const models = [...new Set(calls().map((row) => row.model!))];
    const expected = models
      .map((model) => ({
        group: model,
        ...expectedAggregates(
          calls().filter((row) => row.model === model),
          store.percentile,
        ),
      }))
      .sort((a, b) => (b.cost_usd ?? -1) - (a.cost_usd ?? -1) || b.calls - a.calls);
    expect(rounded(body.groups)).toEqual(rounded(expected));
    expect(body.by).toBe('model');
    expect(body.from).toBe(FROM);
  });

  it('summary without by: one group of every call', async (context) => {
    if (!available) return context.skip();
    const { body } = await get(`/api/summary?${range}`);
    expect(body.by).toBeNull();
    expect(rounded(body.groups)).toEqual(
      rounded([{ group: '(all)', ...expectedAggregates(calls(), store.percentile) }]),
    );
  });

  it('summary by user, filtered to one provider', async (context) => {
    if (!available) return context.skip();
    const { body } = await get(`/api/summary?${range}&by=user&provider=openai`);
    const openai = calls().filter((row) => row.provider === 'openai');
    const users = [...new Set(openai.map((row) => row.user_id!))];
    const expected = users
      .map((user) => ({
        group: user,
        ...expectedAggregates(
          openai.filter((row) => row.user_id === user),
          store.percentile,
        ),
      }))
      .sort((a, b) => (b.cost_usd ?? -1) - (a.cost_usd ?? -1) || b.calls - a.calls);
    expect(rounded(body.groups as GroupAggregates[])).toEqual(rounded(expected));
  });

  it('timeseries by hour: each bucket holds the calls that started in it, oldest first', async (context) => {
    if (!available) return context.skip();
    const { body } = await get(`/api/timeseries?${range}&bucket=1h`);
    const buckets = new Map<string, MetricEvent[]>();
    for (const call of calls()) {
      const start = new Date(Math.floor(Date.parse(call.timestamp) / HOUR) * HOUR).toISOString();
      buckets.set(start, [...(buckets.get(start) ?? []), call]);
    }
    const expected = [...buckets.keys()].sort().map((bucket) => ({
      bucket,
      group: '(all)',
      ...expectedAggregates(buckets.get(bucket)!, store.percentile),
    }));
    expect(rounded(body.points)).toEqual(rounded(expected));
    expect(body).toMatchObject({ bucket: '1h', by: null });
  });

  it('calls: pages of 3 follow the cursor to the end, newest first, each row once', async (context) => {
    if (!available) return context.skip();
    const seen: CallRow[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { body } = await get(`/api/calls?${range}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...body.calls);
      cursor = body.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    const expected = rows
      .filter(inRange)
      .sort((a, b) => b.timestamp.localeCompare(a.timestamp) || b.event_id.localeCompare(a.event_id));
    expect(seen.map((call) => call.event_id)).toEqual(expected.map((row) => row.event_id));
    expect(pages).toBe(Math.ceil(expected.length / 3));
    const failed = seen.find((call) => call.error !== null)!;
    expect(failed).toMatchObject({
      model: 'gpt-4o-mini',
      error: 'rate limited',
      input_tokens: 60,
      output_tokens: null,
    });
  });

  it('calls of one session and model', async (context) => {
    if (!available) return context.skip();
    const { body } = await get(`/api/calls?${range}&session=sess-c&model=claude-sonnet-4-5`);
    expect(body.calls.map((call: CallRow) => call.span_id)).toEqual([
      '0000000000000016',
      '0000000000000015',
      '0000000000000014',
    ]);
    expect(body.next_cursor).toBeNull();
  });

  it('sessions by cost, two a page, then a search by id', async (context) => {
    if (!available) return context.skip();
    const first = await get(`/api/sessions?${range}&sort=cost&limit=2`);
    expect(first.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([
      'sess-c',
      'sess-a',
    ]);
    const second = await get(`/api/sessions?${range}&sort=cost&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual(['sess-b']);
    expect(second.body.next_cursor).toBeNull();
    const a = first.body.sessions[1];
    expect(rounded(a)).toEqual(
      rounded({
        session_id: 'sess-a',
        rows: 4,
        calls: 2,
        errors: 0,
        input_tokens: 300,
        output_tokens: 30,
        cost_usd: 0.003,
        first_seen: new Date(NOW - 300 * 60_000).toISOString().replace('Z', '000Z'),
        last_seen: new Date(NOW - 297 * 60_000).toISOString().replace('Z', '000Z'),
        user_id: 'ana',
      }),
    );
    const search = await get(`/api/sessions?${range}&q=ss-b`);
    expect(search.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual(['sess-b']);
    const wildcard = await get(`/api/sessions?${range}&q=${encodeURIComponent('%')}`);
    expect(wildcard.body.sessions).toEqual([]);
  });

  it('one session: its rows oldest first, the prompt only where it was captured', async (context) => {
    if (!available) return context.skip();
    const { body } = await get('/api/sessions/sess-a', '/api/sessions/{id}');
    expect(body.calls.map((call: CallRow) => call.operation_type)).toEqual([
      'agent',
      'llm_call',
      'tool_call',
      'llm_call',
    ]);
    expect(body.calls[1]?.prompt).toBe('What is the weather?');
    expect(body.calls[3]).not.toHaveProperty('prompt');
    const missing = await get('/api/sessions/no-such-session', '/api/sessions/{id}');
    expect(missing.status).toBe(404);
  });

  it('a trace as a tree: the agent, its two calls, the tool under the first', async (context) => {
    if (!available) return context.skip();
    const { body } = await get(`/api/traces/${'1'.padStart(32, '0')}`, '/api/traces/{id}');
    const shape = (node: TraceNode): unknown => [node.span_id.replace(/^0+/, ''), node.children.map(shape)];
    expect(body.spans.map(shape)).toEqual([
      [
        '1',
        [
          ['2', [['3', []]]],
          ['4', []],
        ],
      ],
    ]);
  });
});
