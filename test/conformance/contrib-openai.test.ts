/**
 * The OpenTelemetry contrib OpenAI instrumentation (0.21), end to end: the
 * official `openai` client against the fake server, spans through
 * MetricEventsSpanProcessor into Parquet and PostgreSQL, rows read back.
 * The instrumentation has no session of its own and puts no content on spans
 * (content goes to log records): the application's own span carries the
 * session and the user, and the processor hands them down to the
 * instrumentation's rows.
 */
import { describe, expect, it } from 'vitest';
import {
  CHAT_ANSWER,
  EMBEDDING_TOKENS_PER_INPUT,
  ERROR_429_MESSAGE,
  ERROR_500_MESSAGE,
  IMAGE_ANSWER,
  TOOL_ANSWER,
  TOOL_CALL_ANSWER,
  responseModelFor,
} from '../support/fake-llm-server.js';
import { CHAT_MODEL, EMBEDDING_MODEL } from '../support/capture/prompts.js';
import { contribOpenAI } from '../support/capture/targets/contrib-openai.js';
import {
  imageColumns,
  reportedTokens,
  textColumns,
  tokensOf,
  schema11Columns,
  expectedChatColumns,
  FAILED_CALL_COLUMNS,
} from './expected.js';
import { SINKS, conformanceCapture, rowOf, type SinkName } from './stored-rows.js';
import { describeWhyCallsStop } from './stopped-calls.js';

const APP_SESSION_ID = 'session-contrib-app-0001';
const APP_USER_ID = 'user-contrib-app-0001';
const pipeline = conformanceCapture(contribOpenAI, {
  appSpanAttributes: { 'session.id': APP_SESSION_ID, 'user.id': APP_USER_ID },
});

/** Input, output and total: the tokens this instrumentation records (no cache, no reasoning). */
function recordedTokens(answer: typeof CHAT_ANSWER) {
  const { input_tokens, output_tokens, total_tokens } = reportedTokens(answer);
  return { input_tokens, output_tokens, total_tokens };
}

describe.each(SINKS)('contrib OpenAI → %s', (sink: SinkName) => {
  const rows = async (scenario: string) => (await pipeline.run(scenario)).rows[sink];

  describe('schema 1.1 columns', () => {
    it('fills the model-call row: the model asked for, the provider, its tokens, why it stopped, the user and the service', async () => {
      const [row] = (await rows('chat')).filter((r) => r.operation_type === 'llm_call');
      expect(schema11Columns(row!)).toEqual(
        expectedChatColumns(APP_USER_ID, ['cache_read_tokens', 'reasoning_tokens']),
      );
    });

    it('gives a failed call the model it asked for and no tokens, so that its calls group with the successful ones', async () => {
      const [row] = (await rows('error-429')).filter((r) => r.operation_type === 'llm_call');
      expect(schema11Columns(row!)).toMatchObject(FAILED_CALL_COLUMNS);
    });
  });

  describe('chat', () => {
    it('stores one llm_call row "chat <model>" for the call', async () => {
      const stored = await rows('chat');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        [`chat ${CHAT_MODEL}`, 'llm_call'],
      ]);
    });

    it("gives the row the session of the application's span, which the processor carries down", async () => {
      const [row] = await rows('chat');
      expect(row!.session_id).toBe(APP_SESSION_ID);
    });

    it("gives the row the user of the application's span, which the processor carries down too", async () => {
      const [row] = await rows('chat');
      expect(row!.custom_attributes).toMatchObject({ user_id: APP_USER_ID });
    });

    it("links the row to the application's span as its parent, in its trace", async () => {
      const { appSpan, rows: all } = await pipeline.run('chat');
      const [row] = all[sink];
      expect(row!.parent_span_id).toBe(appSpan.spanId);
      expect(row!.trace_id).toBe(appSpan.traceId);
    });

    it('stores the input, output and total tokens the server reported', async () => {
      const [row] = await rows('chat');
      expect(tokensOf(row!)).toEqual(recordedTokens(CHAT_ANSWER));
    });

    it('stores no text metrics: the instrumentation puts no content on its spans', async () => {
      const [row] = await rows('chat');
      expect(Object.values(textColumns(row!))).toEqual([null, null, null, null]);
    });

    it('keeps the response model, the request model and the provider', async () => {
      const [row] = await rows('chat');
      expect(row!.custom_attributes).toMatchObject({
        model: responseModelFor(CHAT_MODEL),
        request_model: CHAT_MODEL,
        response_model: responseModelFor(CHAT_MODEL),
        provider: 'openai',
        scope_name: '@opentelemetry/instrumentation-openai',
      });
    });
  });

  describe('streamed chat', () => {
    it('stores the same tokens for a streamed answer as for a plain one', async () => {
      const [streamed] = await rows('chat-stream');
      const [plain] = await rows('chat');
      expect(tokensOf(streamed!)).toEqual(recordedTokens(CHAT_ANSWER));
      expect(tokensOf(streamed!)).toEqual(tokensOf(plain!));
    });

    it('stores the same operation and session for a streamed answer as for a plain one', async () => {
      const [streamed] = await rows('chat-stream');
      expect(streamed).toMatchObject({
        operation_name: `chat ${CHAT_MODEL}`,
        operation_type: 'llm_call',
        session_id: APP_SESSION_ID,
      });
    });
  });

  describe('chat with an image', () => {
    it('stores the tokens of the image answer and no image: the image never reaches the span', async () => {
      const [row] = await rows('chat-image');
      expect(tokensOf(row!)).toEqual(recordedTokens(IMAGE_ANSWER));
      expect(imageColumns(row!)).toMatchObject({ image_count: null, image_width: null, image_format: null });
    });
  });

  describe('tool calls', () => {
    it('stores one row per model call, each with its own tokens', async () => {
      const stored = await rows('tool-call');
      expect(stored.map(tokensOf)).toEqual([recordedTokens(TOOL_CALL_ANSWER), recordedTokens(TOOL_ANSWER)]);
    });
  });

  describe('embeddings', () => {
    it('stores an embedding row with the input tokens the server reported', async () => {
      const [row] = await rows('embedding');
      expect(row).toMatchObject({
        operation_name: `embeddings ${EMBEDDING_MODEL}`,
        operation_type: 'embedding',
        session_id: APP_SESSION_ID,
      });
      expect(tokensOf(row!)).toEqual({ input_tokens: EMBEDDING_TOKENS_PER_INPUT });
    });
  });

  describe('errors', () => {
    it('stores a row for a 429 with the error message and the client error class', async () => {
      const stored = await rows('error-429');
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        operation_type: 'llm_call',
        session_id: APP_SESSION_ID,
        error: `429 ${ERROR_429_MESSAGE}`,
        error_type: 'RateLimitError',
      });
    });

    it('stores a row for a 500 with the error message and the client error class', async () => {
      const stored = await rows('error-500');
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        operation_type: 'llm_call',
        session_id: APP_SESSION_ID,
        error: `500 ${ERROR_500_MESSAGE}`,
        error_type: 'InternalServerError',
      });
    });

    it('stores no tokens for a failed call', async () => {
      const [row] = await rows('error-429');
      expect(tokensOf(row!)).toEqual({});
    });
  });
});

describe('contrib OpenAI: both sinks', () => {
  it.skipIf(!SINKS.includes('postgres')).each(['chat', 'chat-stream', 'tool-call', 'embedding', 'error-500'])(
    'PostgreSQL holds the same rows as Parquet (%s)',
    async (scenario) => {
      const { rows } = await pipeline.run(scenario);
      expect(rows.parquet.length).toBeGreaterThan(0);
      expect(rows.postgres).toEqual(rows.parquet);
    },
  );

  it('stores a row for every span the instrumentation ended, and only for those', async () => {
    const { spans, rows } = await pipeline.run('tool-call');
    expect(rows.parquet.map((row) => row.span_id).sort()).toEqual(
      spans.map((span) => span.spanContext().spanId).sort(),
    );
  });
});

describe.each(SINKS)('contrib OpenAI → %s: a streamed call', (sink: SinkName) => {
  it('stores no time to first token: the instrumentation records none', async () => {
    const { rows, spans } = await pipeline.run('chat-stream');
    const row = rowOf(
      rows[sink],
      spans.find((s) => s.name === `chat ${CHAT_MODEL}`)!,
    );
    expect(row.time_to_first_token_ms).toBeNull();
  });
});

describeWhyCallsStop('contrib OpenAI', pipeline, 'tool_calls');
