/**
 * A day of an application's LLM calls, as rows: sessions of agent runs (an
 * agent row repeating its calls' usage, model calls under it, a tool call),
 * streamed chat calls with time to first token, embeddings, failures, a model
 * without a price. Deterministic for a given `now` (a seeded generator), so a
 * test can work out every figure the dashboard should show from the rows.
 */
import { SCHEMA_VERSION, type MetricEvent } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';

const MODELS = [
  { model: 'gpt-4o', provider: 'openai', input: 2.5, output: 10, ms: 1400 },
  { model: 'gpt-4o-mini', provider: 'openai', input: 0.15, output: 0.6, ms: 700 },
  { model: 'claude-sonnet-4-5', provider: 'anthropic', input: 3, output: 15, ms: 2100 },
  { model: 'house-llm', provider: 'self-hosted', input: 0, output: 0, ms: 300 },
] as const;
const USERS = ['ana', 'bo', 'cy', 'dee', 'eli'];

/** A small, seeded generator (mulberry32): the same rows for the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface DashboardRows {
  readonly rows: MetricEvent[];
  /** Sessions in the order they were made, each with its trace ids. */
  readonly sessions: readonly { readonly id: string; readonly traces: readonly string[] }[];
}

/** `sessions` agent sessions spread over the `hours` before `now`, oldest first. */
export function dashboardRows(now: number, sessions = 40, hours = 24, seed = 7): DashboardRows {
  const next = random(seed);
  const rows: MetricEvent[] = [];
  const made: { id: string; traces: string[] }[] = [];
  let ids = 0;
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  for (let s = 0; s < sessions; s++) {
    const sessionId = `session-${hex(s + 1, 4)}`;
    const user = USERS[s % USERS.length]!;
    const start = now - hours * 3_600_000 + ((s + next()) / sessions) * hours * 3_600_000;
    const traces: string[] = [];
    const turns = 1 + Math.floor(next() * 3);
    let at = start;
    for (let turn = 0; turn < turns; turn++) {
      const traceNumber = s * 10 + turn + 1;
      const traceId = hex(traceNumber, 32);
      traces.push(traceId);
      const agentSpan = ++ids;
      const children: MetricEvent[] = [];
      let childAt = at + 5;
      let usageIn = 0;
      let usageOut = 0;
      const calls = 1 + Math.floor(next() * 3);
      for (let c = 0; c < calls; c++) {
        const spec = MODELS[Math.floor(next() * (c === 0 ? 3 : MODELS.length))]!;
        const input = 200 + Math.floor(next() * 3000);
        const output = 20 + Math.floor(next() * 600);
        const cacheRead = next() < 0.4 ? Math.floor(input * 0.6) : 0;
        const failed = next() < 0.06;
        const streamed = next() < 0.6;
        const duration = spec.ms * (0.5 + next());
        const cost =
          spec.model === 'house-llm'
            ? null
            : (input * spec.input + (failed ? 0 : output) * spec.output) / 1e6;
        usageIn += input;
        usageOut += failed ? 0 : output;
        children.push(
          row({
            id: ++ids,
            sessionId,
            traceId,
            parent: agentSpan,
            at: childAt,
            name: `chat ${spec.model}`,
            type: 'llm_call',
            duration,
            model: spec.model,
            provider: spec.provider,
            input,
            output: failed ? null : output,
            cacheRead: cacheRead || null,
            cost,
            ttft: streamed && !failed ? duration * (0.15 + next() * 0.2) : null,
            error: failed ? 'RateLimitError: 429 Too Many Requests' : null,
            user,
            unknownModel: spec.model === 'house-llm',
          }),
        );
        childAt += duration + 10;
        if (next() < 0.5) {
          const toolMs = 20 + next() * 400;
          children.push(
            row({
              id: ++ids,
              sessionId,
              traceId,
              parent: agentSpan,
              at: childAt,
              name: 'get_weather',
              type: 'tool_call',
              duration: toolMs,
              model: null,
              provider: null,
              input: null,
              output: null,
              cacheRead: null,
              cost: null,
              ttft: null,
              error: null,
              user,
              unknownModel: false,
            }),
          );
          childAt += toolMs + 10;
        }
      }
      rows.push(
        row({
          id: agentSpan,
          sessionId,
          traceId,
          parent: undefined,
          at,
          name: 'invoke_agent travel-assistant',
          type: 'agent',
          duration: childAt - at,
          model: 'gpt-4o',
          provider: 'openai',
          input: null,
          output: null,
          cacheRead: null,
          cost: null,
          ttft: null,
          error: null,
          user,
          unknownModel: false,
          aggregate: { aggregate_input_tokens: usageIn, aggregate_output_tokens: usageOut },
        }),
        ...children,
      );
      at = childAt + 30_000 + next() * 120_000;
    }
    made.push({ id: sessionId, traces });
  }
  return { rows, sessions: made };
}

interface RowSpec {
  readonly id: number;
  readonly sessionId: string;
  readonly traceId: string;
  readonly parent: number | undefined;
  readonly at: number;
  readonly name: string;
  readonly type: MetricEvent['operation_type'];
  readonly duration: number;
  readonly model: string | null;
  readonly provider: string | null;
  readonly input: number | null;
  readonly output: number | null;
  readonly cacheRead: number | null;
  readonly cost: number | null;
  readonly ttft: number | null;
  readonly error: string | null;
  readonly user: string;
  readonly unknownModel: boolean;
  readonly aggregate?: Record<string, number>;
}

function row(spec: RowSpec): MetricEvent {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  const metrics = {
    ...(spec.cost !== null
      ? { cost_source: 'computed' }
      : spec.unknownModel
        ? { cost_source: 'unknown_model' }
        : {}),
    ...(spec.aggregate ?? {}),
  };
  return fitRow({
    event_id: `00000000-0000-5000-8000-${hex(spec.id, 12)}`,
    schema_version: SCHEMA_VERSION,
    session_id: spec.sessionId,
    trace_id: spec.traceId,
    span_id: hex(spec.id, 16),
    parent_span_id: spec.parent === undefined ? null : hex(spec.parent, 16),
    operation_name: spec.name,
    operation_type: spec.type,
    timestamp: new Date(Math.floor(spec.at)).toISOString().replace('Z', '000Z'),
    duration_ms: Math.round(spec.duration * 10) / 10,
    text_custom_metrics: Object.keys(metrics).length > 0 ? metrics : null,
    custom_attributes: { service_name: 'travel-app' },
    error: spec.error,
    error_type: spec.error === null ? null : 'RateLimitError',
    model: spec.model,
    provider: spec.provider,
    input_tokens: spec.input,
    output_tokens: spec.output,
    total_tokens: spec.input !== null && spec.output !== null ? spec.input + spec.output : null,
    cache_read_tokens: spec.cacheRead,
    cost_usd: spec.cost,
    time_to_first_token_ms: spec.ttft === null ? null : Math.round(spec.ttft * 10) / 10,
    finish_reason: spec.type === 'llm_call' ? (spec.error ? 'error' : 'stop') : null,
    user_id: spec.user,
    service_name: 'travel-app',
  });
}
