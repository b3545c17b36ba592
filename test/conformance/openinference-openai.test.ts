/**
 * OpenInference's OpenAI instrumentation (4.2) end to end: the official `openai`
 * client against the fake server, the session and user set with
 * openinference-core's context helpers (`setSession`, `setUser`), spans
 * through MetricEventsSpanProcessor into Parquet and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import {
  CHAT_ANSWER,
  IMAGE_ANSWER,
  TOOL_ANSWER,
  TOOL_CALL_ANSWER,
  responseModelFor,
} from '../support/fake-llm-server.js';
import { LARGE_PNG, SMALL_PNG } from '../support/png.js';
import { CHAT_MODEL, CHAT_QUESTION, EMBEDDING_INPUT, SYSTEM_PROMPT } from '../support/capture/prompts.js';
import {
  OPENINFERENCE_SESSION_ID,
  OPENINFERENCE_USER_ID,
  openinferenceOpenAI,
} from '../support/capture/targets/openinference-openai.js';
import {
  PROMPT_AFTER_TOOL,
  answerText,
  imageColumns,
  inputColumnsOf,
  pngFacts,
  reportedTokens,
  textColumns,
  textColumnsOf,
  tokensOf,
  schema11Columns,
  expectedChatColumns,
  estimatedColumns,
  estimatedColumnsOf,
} from './expected.js';
import { SINKS, conformanceCapture, rowOf, type SinkName } from './stored-rows.js';
import { describeWhyCallsStop } from './stopped-calls.js';

// Rows of calls whose span is never ended come 5 s after the scenario's application span ended.
const pipeline = conformanceCapture(openinferenceOpenAI, { danglingSpanTimeoutMillis: 5_000 });
const CHAT_SPAN = 'OpenAI Chat Completions';

describe.each(SINKS)('OpenInference OpenAI → %s', (sink: SinkName) => {
  const rows = async (scenario: string) => (await pipeline.run(scenario)).rows[sink];

  describe('schema 1.1 columns', () => {
    it('fills the model-call row: the model asked for, the provider, its tokens, why it stopped, the user and the service', async () => {
      const [row] = (await rows('chat')).filter((r) => r.operation_type === 'llm_call');
      expect(schema11Columns(row!)).toEqual(expectedChatColumns(OPENINFERENCE_USER_ID));
    });
  });

  describe('chat', () => {
    it('stores one llm_call row for the call', async () => {
      const stored = await rows('chat');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        [CHAT_SPAN, 'llm_call'],
      ]);
    });

    it('takes the session set with setSession', async () => {
      const [row] = await rows('chat');
      expect(row!.session_id).toBe(OPENINFERENCE_SESSION_ID);
    });

    it('keeps the user set with setUser, the model and the provider', async () => {
      const [row] = await rows('chat');
      expect(row!.custom_attributes).toMatchObject({
        user_id: OPENINFERENCE_USER_ID,
        model: responseModelFor(CHAT_MODEL),
        provider: 'openai',
      });
    });

    it('keeps the request model (llm.invocation_parameters) and the response model (llm.model_name)', async () => {
      const [row] = await rows('chat');
      expect(row!.custom_attributes).toMatchObject({
        request_model: CHAT_MODEL,
        response_model: responseModelFor(CHAT_MODEL),
      });
    });

    it("links the row to the application's span as its parent", async () => {
      const { appSpan, rows: all } = await pipeline.run('chat');
      expect(all[sink][0]).toMatchObject({ parent_span_id: appSpan.spanId, trace_id: appSpan.traceId });
    });

    it('stores every token count the server reported: input, output, total, cache read, reasoning', async () => {
      const [row] = await rows('chat');
      expect(tokensOf(row!)).toEqual(reportedTokens(CHAT_ANSWER));
    });

    it('measures the text the server answered', async () => {
      const [row] = await rows('chat');
      expect(textColumns(row!)).toEqual(textColumnsOf(answerText(CHAT_ANSWER)));
    });

    it('measures the prompt: the system prompt and the question', async () => {
      const [row] = await rows('chat');
      expect(row!.text_custom_metrics).toMatchObject(inputColumnsOf(`${SYSTEM_PROMPT}\n${CHAT_QUESTION}`));
    });
  });

  describe('streamed chat', () => {
    it('measures a streamed answer like a plain one', async () => {
      const [streamed] = await rows('chat-stream');
      const [plain] = await rows('chat');
      expect(textColumns(streamed!)).toEqual(textColumnsOf(answerText(CHAT_ANSWER)));
      expect(textColumns(streamed!)).toEqual(textColumns(plain!));
    });

    it('keeps the session and operation of a streamed call', async () => {
      const [streamed] = await rows('chat-stream');
      expect(streamed).toMatchObject({
        operation_type: 'llm_call',
        session_id: OPENINFERENCE_SESSION_ID,
      });
    });

    it('stores no tokens for a streamed answer: the instrumentation records none', async () => {
      const [streamed] = await rows('chat-stream');
      expect(tokensOf(streamed!)).toEqual({});
    });

    it('estimates the tokens of the streamed call with the model’s tokenizer, and prices them as estimated', async () => {
      const [streamed] = await rows('chat-stream');
      expect(estimatedColumns(streamed!)).toEqual(estimatedColumnsOf('chat-stream'));
    });

    it('names the request model for a streamed call: the instrumentation records no response model', async () => {
      const [streamed] = await rows('chat-stream');
      expect(streamed!.custom_attributes).toMatchObject({ model: CHAT_MODEL, request_model: CHAT_MODEL });
      expect(streamed!.custom_attributes).not.toHaveProperty('response_model');
    });
  });

  describe('chat with an image', () => {
    it('stores the width, height, format and bytes of the image that was sent', async () => {
      const [row] = await rows('chat-image');
      expect(imageColumns(row!)).toEqual(pngFacts(SMALL_PNG));
    });

    it('measures an image the instrumentation redacts in its messages from input.value', async () => {
      const [row] = await rows('chat-large-image');
      expect(imageColumns(row!)).toEqual(pngFacts(LARGE_PNG));
      expect(row!.image_custom_metrics).toEqual({
        images: [expect.objectContaining({ side: 'input', source: 'input.value' })],
      });
    });

    it('measures the answer to the image question', async () => {
      const [row] = await rows('chat-image');
      expect(textColumns(row!)).toEqual(textColumnsOf(answerText(IMAGE_ANSWER)));
    });

    it('stores the tokens the server reported for the image call', async () => {
      const [row] = await rows('chat-image');
      expect(tokensOf(row!)).toEqual(reportedTokens(IMAGE_ANSWER));
    });
  });

  describe('tool calls', () => {
    it('measures the arguments of the tool call as the output of the first call', async () => {
      const [first] = await rows('tool-call');
      expect(textColumns(first!)).toEqual(textColumnsOf(TOOL_CALL_ANSWER.toolCalls[0]!.arguments));
    });

    it('stores the tokens the server reported for the call that asked for the tool', async () => {
      const [first] = await rows('tool-call');
      expect(tokensOf(first!)).toEqual(reportedTokens(TOOL_CALL_ANSWER));
    });

    it('measures the answer from the tool result as the output of the second call', async () => {
      const [, second] = await rows('tool-call');
      expect(textColumns(second!)).toEqual(textColumnsOf(answerText(TOOL_ANSWER)));
    });

    it('measures the prompt of the call after the tool: question, tool call and result', async () => {
      const [, second] = await rows('tool-call');
      expect(second!.text_custom_metrics).toMatchObject(inputColumnsOf(PROMPT_AFTER_TOOL));
    });

    it('stores the tokens the server reported for the call after the tool', async () => {
      const [, second] = await rows('tool-call');
      expect(tokensOf(second!)).toEqual(reportedTokens(TOOL_ANSWER));
    });
  });

  describe('embeddings', () => {
    it('stores an embedding row with the session', async () => {
      const [row] = await rows('embedding');
      expect(row).toMatchObject({
        operation_name: 'OpenAI Embeddings',
        operation_type: 'embedding',
        session_id: OPENINFERENCE_SESSION_ID,
      });
    });

    it('measures the embedded text as the input', async () => {
      const [row] = await rows('embedding');
      expect(row!.text_custom_metrics).toMatchObject(inputColumnsOf(EMBEDDING_INPUT));
    });

    it('stores no tokens for an embedding: the instrumentation records none', async () => {
      const [row] = await rows('embedding');
      expect(tokensOf(row!)).toEqual({});
    });

    it('estimates the embedded text’s tokens with the model’s tokenizer, and prices them as estimated', async () => {
      const [row] = await rows('embedding');
      expect(estimatedColumns(row!)).toEqual(estimatedColumnsOf('embedding'));
    });
  });

  describe('calls whose span the instrumentation never ends', () => {
    it.each(['error-429', 'error-500'])(
      'stores one error row for a call answered %s, with the session of the call',
      async (scenario) => {
        const { rows: all, unended } = await pipeline.run(scenario);
        expect(unended.map((span) => span.name)).toEqual([CHAT_SPAN]);
        expect(all[sink].map((row) => [row.operation_name, row.operation_type])).toEqual([
          [CHAT_SPAN, 'llm_call'],
        ]);
        const [row] = all[sink];
        expect(row).toMatchObject({
          span_id: unended[0]!.spanContext().spanId,
          session_id: OPENINFERENCE_SESSION_ID,
          user_id: OPENINFERENCE_USER_ID,
          error: 'the span was never ended by its instrumentation',
          error_type: 'span_not_ended',
          input_tokens: null,
          cost_usd: null,
        });
        expect(row!.custom_attributes).toMatchObject({ span_not_ended: true });
        expect(row!.duration_ms).toBeGreaterThan(0);
      },
    );
  });
});

describe('OpenInference OpenAI: both sinks', () => {
  it.skipIf(!SINKS.includes('postgres')).each(['chat', 'chat-stream', 'chat-large-image', 'embedding'])(
    'PostgreSQL holds the same rows as Parquet (%s)',
    async (scenario) => {
      const { rows } = await pipeline.run(scenario);
      expect(rows.parquet.length).toBeGreaterThan(0);
      expect(rows.postgres).toEqual(rows.parquet);
    },
  );
});

describe.each(SINKS)('OpenInference OpenAI → %s: a streamed call', (sink: SinkName) => {
  it('stores no time to first token: the instrumentation records none', async () => {
    const { rows, spans } = await pipeline.run('chat-stream');
    const row = rowOf(
      rows[sink],
      spans.find((s) => s.name === CHAT_SPAN)!,
    );
    expect(row.time_to_first_token_ms).toBeNull();
    expect(row.custom_attributes).toMatchObject({ request: { stream: true } });
  });
});

describeWhyCallsStop('OpenInference OpenAI', pipeline, 'tool_calls');
