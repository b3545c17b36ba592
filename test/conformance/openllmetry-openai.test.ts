/**
 * OpenLLMetry's OpenAI instrumentation (0.27) end to end: the official `openai`
 * client against the fake server, the session set with the Traceloop SDK's
 * `withAssociationProperties` (its span processor writes it on each span at
 * start), spans through MetricEventsSpanProcessor into Parquet and PostgreSQL.
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
import { CHAT_MODEL, CHAT_QUESTION, SYSTEM_PROMPT } from '../support/capture/prompts.js';
import {
  OPENLLMETRY_CONVERSATION_ID,
  OPENLLMETRY_SESSION_ID,
  OPENLLMETRY_USER_ID,
  openllmetryOpenAI,
} from '../support/capture/targets/openllmetry-openai.js';
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
import { SINKS, conformanceCapture, rowOf, rowNamed, type SinkName } from './stored-rows.js';
import { describeWhyCallsStop } from './stopped-calls.js';

// Rows of calls whose span is never ended come 5 s after the scenario's application span ended.
const pipeline = conformanceCapture(openllmetryOpenAI, { danglingSpanTimeoutMillis: 5_000 });
const CHAT_SPAN = `chat ${CHAT_MODEL}`;

/** Input, output and total: the tokens this instrumentation records (it drops cache and reasoning). */
function recordedTokens(answer: typeof CHAT_ANSWER) {
  const { input_tokens, output_tokens, total_tokens } = reportedTokens(answer);
  return { input_tokens, output_tokens, total_tokens };
}

describe.each(SINKS)('OpenLLMetry OpenAI → %s', (sink: SinkName) => {
  const rows = async (scenario: string) => (await pipeline.run(scenario)).rows[sink];

  describe('schema 1.1 columns', () => {
    it('fills the model-call row: the model asked for, the provider, its tokens, why it stopped, the user and the service', async () => {
      const [row] = (await rows('chat')).filter((r) => r.operation_type === 'llm_call');
      expect(schema11Columns(row!)).toEqual(
        expectedChatColumns(OPENLLMETRY_USER_ID, ['cache_read_tokens', 'reasoning_tokens']),
      );
    });
  });

  describe('chat', () => {
    it('stores one llm_call row "chat <model>" for the call', async () => {
      const stored = await rows('chat');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        [CHAT_SPAN, 'llm_call'],
      ]);
    });

    it('takes the session from the association property session_id', async () => {
      const [row] = await rows('chat');
      expect(row!.session_id).toBe(OPENLLMETRY_SESSION_ID);
    });

    it('keeps the user and the association properties in custom_attributes', async () => {
      const [row] = await rows('chat');
      expect(row!.custom_attributes).toMatchObject({
        user_id: OPENLLMETRY_USER_ID,
        association_properties: { session_id: OPENLLMETRY_SESSION_ID, user_id: OPENLLMETRY_USER_ID },
        model: responseModelFor(CHAT_MODEL),
        request_model: CHAT_MODEL,
        response_model: responseModelFor(CHAT_MODEL),
        provider: 'openai',
      });
    });

    it("links the row to the application's span as its parent", async () => {
      const { appSpan, rows: all } = await pipeline.run('chat');
      expect(all[sink][0]).toMatchObject({ parent_span_id: appSpan.spanId, trace_id: appSpan.traceId });
    });

    it('stores the input, output and total tokens the server reported', async () => {
      const [row] = await rows('chat');
      expect(tokensOf(row!)).toEqual(recordedTokens(CHAT_ANSWER));
    });

    it('measures the text the server answered', async () => {
      const [row] = await rows('chat');
      expect(textColumns(row!)).toEqual(textColumnsOf(answerText(CHAT_ANSWER)));
    });

    it('measures the prompt: the system prompt and the question', async () => {
      const [row] = await rows('chat');
      expect(row!.text_custom_metrics).toMatchObject(inputColumnsOf(`${SYSTEM_PROMPT}\n${CHAT_QUESTION}`));
    });

    it('stores no error for a completed call', async () => {
      const [row] = await rows('chat');
      expect([row!.error, row!.error_type]).toEqual([null, null]);
    });
  });

  describe('streamed chat', () => {
    it('measures a streamed answer like a plain one', async () => {
      const [streamed] = await rows('chat-stream');
      const [plain] = await rows('chat');
      expect(textColumns(streamed!)).toEqual(textColumnsOf(answerText(CHAT_ANSWER)));
      expect(textColumns(streamed!)).toEqual(textColumns(plain!));
    });

    it('keeps the session of a streamed call', async () => {
      const [streamed] = await rows('chat-stream');
      expect(streamed!.session_id).toBe(OPENLLMETRY_SESSION_ID);
    });

    it('stores no tokens for a streamed answer: the instrumentation records none', async () => {
      const { rows: all, requests } = await pipeline.run('chat-stream');
      expect(requests[0]!.body).toMatchObject({ stream_options: { include_usage: true } });
      expect(tokensOf(all[sink][0]!)).toEqual({});
    });

    it('estimates the tokens of the streamed call with the model’s tokenizer, and prices them as estimated', async () => {
      const [streamed] = await rows('chat-stream');
      expect(estimatedColumns(streamed!)).toEqual(estimatedColumnsOf('chat-stream'));
    });
  });

  describe('chat with an image', () => {
    it('stores the width, height, format and bytes of the image that was sent', async () => {
      const [row] = await rows('chat-image');
      expect(imageColumns(row!)).toEqual(pngFacts(SMALL_PNG));
    });

    it('lists the image as an input in image_custom_metrics', async () => {
      const [row] = await rows('chat-image');
      expect(row!.image_custom_metrics).toEqual({
        images: [expect.objectContaining({ side: 'input', format: 'png', bytes: SMALL_PNG.length })],
      });
    });

    it('measures a 48 KB image as it measures a small one', async () => {
      const [row] = await rows('chat-large-image');
      expect(imageColumns(row!)).toEqual(pngFacts(LARGE_PNG));
    });

    it('measures the answer to the image question', async () => {
      const [row] = await rows('chat-image');
      expect(textColumns(row!)).toEqual(textColumnsOf(answerText(IMAGE_ANSWER)));
    });

    it('stores the tokens the server reported for the image call', async () => {
      const [row] = await rows('chat-image');
      expect(tokensOf(row!)).toEqual(recordedTokens(IMAGE_ANSWER));
    });
  });

  describe('tool calls', () => {
    it('measures the arguments of the tool call as the output of the first call', async () => {
      const [first] = await rows('tool-call');
      expect(textColumns(first!)).toEqual(textColumnsOf(TOOL_CALL_ANSWER.toolCalls[0]!.arguments));
    });

    it('stores the tokens the server reported for the call that asked for the tool', async () => {
      const [first] = await rows('tool-call');
      expect(tokensOf(first!)).toEqual(recordedTokens(TOOL_CALL_ANSWER));
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
      expect(tokensOf(second!)).toEqual(recordedTokens(TOOL_ANSWER));
    });
  });

  describe('withConversation', () => {
    it('stores the SDK workflow span as a workflow row and the chat under it', async () => {
      const { appSpan, rows: all } = await pipeline.run('chat-conversation');
      const workflow = rowNamed(all[sink], `conversation.${OPENLLMETRY_CONVERSATION_ID}.workflow`);
      const chat = rowNamed(all[sink], CHAT_SPAN);
      expect(workflow).toMatchObject({ operation_type: 'workflow', parent_span_id: appSpan.spanId });
      expect(chat).toMatchObject({ operation_type: 'llm_call', parent_span_id: workflow.span_id });
    });

    it('takes the session of both rows from gen_ai.conversation.id', async () => {
      const stored = await rows('chat-conversation');
      expect(stored.map((row) => row.session_id)).toEqual([
        OPENLLMETRY_CONVERSATION_ID,
        OPENLLMETRY_CONVERSATION_ID,
      ]);
    });
  });

  describe('what the instrumentation does not emit', () => {
    it('stores no row for embeddings.create: the instrumentation makes no span for it', async () => {
      const { rows: all, spans, requests } = await pipeline.run('embedding');
      expect(requests.map((request) => request.path)).toEqual(['/v1/embeddings']);
      expect(spans).toEqual([]);
      expect(all[sink]).toEqual([]);
    });

    it.each(['error-429', 'error-500'])(
      'stores one error row for a call answered %s, although the instrumentation never ends its span',
      async (scenario) => {
        const { rows: all, unended } = await pipeline.run(scenario);
        expect(unended.map((span) => span.name)).toEqual([`chat ${scenario}`]);
        expect(all[sink].map((row) => [row.operation_name, row.operation_type])).toEqual([
          [`chat ${scenario}`, 'llm_call'],
        ]);
        const [row] = all[sink];
        expect(row).toMatchObject({
          span_id: unended[0]!.spanContext().spanId,
          session_id: OPENLLMETRY_SESSION_ID,
          user_id: OPENLLMETRY_USER_ID,
          model: scenario,
          provider: 'openai',
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

describe('OpenLLMetry OpenAI: both sinks', () => {
  it.skipIf(!SINKS.includes('postgres')).each(['chat', 'chat-stream', 'chat-image', 'chat-conversation'])(
    'PostgreSQL holds the same rows as Parquet (%s)',
    async (scenario) => {
      const { rows } = await pipeline.run(scenario);
      expect(rows.parquet.length).toBeGreaterThan(0);
      expect(rows.postgres).toEqual(rows.parquet);
    },
  );
});

describe.each(SINKS)('OpenLLMetry OpenAI → %s: a streamed call', (sink: SinkName) => {
  it('stores no time to first token: the instrumentation records none', async () => {
    const { rows, spans } = await pipeline.run('chat-stream');
    const row = rowOf(
      rows[sink],
      spans.find((s) => s.name === CHAT_SPAN)!,
    );
    expect(row.time_to_first_token_ms).toBeNull();
  });
});

describeWhyCallsStop('OpenLLMetry OpenAI', pipeline, 'tool_call');
