/**
 * The Vercel AI SDK 6 (`ai` 6.0, `@ai-sdk/openai` 3.0) with its built-in
 * telemetry (`experimental_telemetry`) end to end: the OpenAI provider against
 * the fake server, the session as telemetry metadata, spans through
 * MetricEventsSpanProcessor into Parquet and PostgreSQL. Each call makes an
 * outer span (`ai.generateText`, ...) that repeats the usage of its model
 * calls (`...doGenerate`, ...): the outer row keeps it as `aggregate_*`.
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
  WEATHER_TOOL_NAME,
  WEATHER_TOOL_RESULT,
  responseModelFor,
} from '../support/fake-llm-server.js';
import { SMALL_PNG } from '../support/png.js';
import { CHAT_MODEL, EMBEDDING_INPUTS } from '../support/capture/prompts.js';
import { AI6_SESSION_ID, AI6_USER_ID, ai6 } from '../support/capture/targets/ai6.js';
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
  tokenColumnsOnce,
  FAILED_CALL_COLUMNS,
  chatCostUsd,
} from './expected.js';
import { SINKS, conformanceCapture, rowNamed, rowOf, type SinkName, type StoredRow } from './stored-rows.js';
import { describeWhyCallsStop } from './stopped-calls.js';

const pipeline = conformanceCapture(ai6);

/** The usage a wrapper row keeps under aggregate_* keys. */
function aggregateOf(row: StoredRow): Record<string, unknown> {
  const metrics = row.text_custom_metrics ?? {};
  return Object.fromEntries(
    Object.entries(metrics)
      .filter(([key]) => key.startsWith('aggregate_') && key.endsWith('_tokens'))
      .map(([key, value]) => [key.slice('aggregate_'.length), value]),
  );
}

function sumOf(rows: readonly StoredRow[], key: string): number {
  return rows.reduce((sum, row) => sum + Number(row.text_custom_metrics?.[key] ?? 0), 0);
}

describe.each(SINKS)('AI SDK 6 → %s', (sink: SinkName) => {
  const rows = async (scenario: string) => (await pipeline.run(scenario)).rows[sink];

  describe('schema 1.1 columns', () => {
    it('fills the model-call row: the model asked for, the provider, its tokens, why it stopped, the user and the service', async () => {
      const [row] = (await rows('chat')).filter(
        (r) => r.operation_type === 'llm_call' && r.input_tokens !== null,
      );
      expect(schema11Columns(row!)).toEqual(expectedChatColumns(AI6_USER_ID));
    });

    it("counts each model call once: the wrapper span that repeats its child's usage has no token columns", async () => {
      const { wrappers, inputTokens } = tokenColumnsOnce(await rows('chat'));
      expect(wrappers).toBeGreaterThan(0);
      expect(inputTokens).toBe(CHAT_ANSWER.usage.prompt_tokens);
    });

    it('gives a failed call the model it asked for and no tokens, so that its calls group with the successful ones', async () => {
      const [row] = (await rows('error-429')).filter((r) => r.operation_type === 'llm_call');
      expect(schema11Columns(row!)).toMatchObject(FAILED_CALL_COLUMNS);
    });
  });

  describe('generateText', () => {
    it('stores an agent row for ai.generateText and an llm_call row for its model call', async () => {
      const stored = await rows('chat');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        ['ai.generateText', 'agent'],
        ['ai.generateText.doGenerate', 'llm_call'],
      ]);
    });

    it('links the model call to ai.generateText, and ai.generateText to the application span', async () => {
      const { appSpan, rows: all } = await pipeline.run('chat');
      const outer = rowNamed(all[sink], 'ai.generateText');
      expect(outer.parent_span_id).toBe(appSpan.spanId);
      expect(rowNamed(all[sink], 'ai.generateText.doGenerate').parent_span_id).toBe(outer.span_id);
    });

    it('takes the session of every row from the telemetry metadata sessionId', async () => {
      const stored = await rows('chat');
      expect(stored.map((row) => row.session_id)).toEqual([AI6_SESSION_ID, AI6_SESSION_ID]);
    });

    it('keeps the user, the function id and the models', async () => {
      const inner = rowNamed(await rows('chat'), 'ai.generateText.doGenerate');
      expect(inner.custom_attributes).toMatchObject({
        user_id: AI6_USER_ID,
        agent_name: 'capture-ai6',
        model: responseModelFor(CHAT_MODEL),
        request_model: CHAT_MODEL,
        response_model: responseModelFor(CHAT_MODEL),
      });
    });

    it('stores every token count the server reported on the model call', async () => {
      const inner = rowNamed(await rows('chat'), 'ai.generateText.doGenerate');
      expect(tokensOf(inner)).toEqual(reportedTokens(CHAT_ANSWER));
    });

    it('keeps the usage ai.generateText repeats as aggregate_*, so the call counts once', async () => {
      const stored = await rows('chat');
      const outer = rowNamed(stored, 'ai.generateText');
      expect(tokensOf(outer)).toEqual({});
      expect(aggregateOf(outer)).toEqual(reportedTokens(CHAT_ANSWER));
      expect(sumOf(stored, 'input_tokens')).toBe(CHAT_ANSWER.usage.prompt_tokens);
    });

    it('prices the call once: ai.generateText keeps its cost as aggregate_cost_usd, SUM(cost_usd) is the model call', async () => {
      const stored = await rows('chat');
      const outer = rowNamed(stored, 'ai.generateText');
      const call = rowNamed(stored, 'ai.generateText.doGenerate');
      expect(outer.cost_usd).toBeNull();
      expect(call.cost_usd).toBeCloseTo(chatCostUsd(true), 15);
      expect(outer.text_custom_metrics?.['aggregate_cost_usd']).toBeCloseTo(call.cost_usd!, 15);
      expect(stored.reduce((sum, row) => sum + (row.cost_usd ?? 0), 0)).toBe(call.cost_usd);
    });

    it('measures the text the server answered, on both rows', async () => {
      const stored = await rows('chat');
      for (const row of stored) expect(textColumns(row)).toEqual(textColumnsOf(answerText(CHAT_ANSWER)));
    });
  });

  describe('streamText', () => {
    it('stores an agent row for ai.streamText and an llm_call row for ai.streamText.doStream', async () => {
      const stored = await rows('chat-stream');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        ['ai.streamText', 'agent'],
        ['ai.streamText.doStream', 'llm_call'],
      ]);
    });

    it('measures a streamed answer like a plain one: text and tokens', async () => {
      const streamed = rowNamed(await rows('chat-stream'), 'ai.streamText.doStream');
      const plain = rowNamed(await rows('chat'), 'ai.generateText.doGenerate');
      expect(textColumns(streamed)).toEqual(textColumns(plain));
      expect(tokensOf(streamed)).toEqual(tokensOf(plain));
      expect(tokensOf(streamed)).toEqual(reportedTokens(CHAT_ANSWER));
    });
  });

  describe('an image', () => {
    it('stores the width, height, format and bytes of the image on the model call', async () => {
      const inner = rowNamed(await rows('chat-image'), 'ai.generateText.doGenerate');
      expect(imageColumns(inner)).toEqual(pngFacts(SMALL_PNG));
    });

    it('measures the image ai.generateText holds as a serialised Buffer the same, once', async () => {
      const outer = rowNamed(await rows('chat-image'), 'ai.generateText');
      expect(imageColumns(outer)).toEqual(pngFacts(SMALL_PNG));
    });

    it('measures the answer to the image question', async () => {
      const inner = rowNamed(await rows('chat-image'), 'ai.generateText.doGenerate');
      expect(textColumns(inner)).toEqual(textColumnsOf(answerText(IMAGE_ANSWER)));
    });

    it('stores the tokens the server reported for the image call', async () => {
      const inner = rowNamed(await rows('chat-image'), 'ai.generateText.doGenerate');
      expect(tokensOf(inner)).toEqual(reportedTokens(IMAGE_ANSWER));
    });
  });

  describe('tools', () => {
    it('stores the tool run as a tool_call row under ai.generateText', async () => {
      const stored = await rows('tool-call');
      const tool = rowNamed(stored, 'ai.toolCall');
      expect(tool).toMatchObject({
        operation_type: 'tool_call',
        parent_span_id: rowNamed(stored, 'ai.generateText').span_id,
        session_id: AI6_SESSION_ID,
      });
      expect(tool.custom_attributes).toMatchObject({ tool_name: WEATHER_TOOL_NAME });
    });

    it("measures the tool's result as the tool row's output", async () => {
      const tool = rowNamed(await rows('tool-call'), 'ai.toolCall');
      expect(textColumns(tool)).toEqual(textColumnsOf(JSON.stringify(WEATHER_TOOL_RESULT)));
    });

    it("measures the tool call's arguments as the model call's output", async () => {
      const inner = rowNamed(await rows('tool-call'), 'ai.generateText.doGenerate');
      expect(textColumns(inner)).toEqual(textColumnsOf(TOOL_CALL_ANSWER.toolCalls[0]!.arguments));
    });

    it('stores the tokens the server reported for the call that asked for the tool', async () => {
      const inner = rowNamed(await rows('tool-call'), 'ai.generateText.doGenerate');
      expect(tokensOf(inner)).toEqual(reportedTokens(TOOL_CALL_ANSWER));
    });

    it('measures the prompt of the call after the tool: question, tool call and result', async () => {
      const calls = (await rows('agent-loop')).filter(
        (row) => row.operation_name === 'ai.generateText.doGenerate',
      );
      expect(calls[1]!.text_custom_metrics).toMatchObject(inputColumnsOf(PROMPT_AFTER_TOOL));
    });

    it('counts each model call of a tool loop once in the sum of input tokens', async () => {
      const stored = await rows('agent-loop');
      const expected = TOOL_CALL_ANSWER.usage.prompt_tokens + TOOL_ANSWER.usage.prompt_tokens;
      expect(stored.filter((row) => row.operation_name === 'ai.generateText.doGenerate')).toHaveLength(2);
      expect(sumOf(stored, 'input_tokens')).toBe(expected);
      expect(aggregateOf(rowNamed(stored, 'ai.generateText')).input_tokens).toBe(expected);
    });

    it('sums cost_usd over a tool loop to the cost of its model calls, each priced from its own usage', async () => {
      const stored = await rows('agent-loop');
      const expected = chatCostUsd(true, TOOL_CALL_ANSWER) + chatCostUsd(true, TOOL_ANSWER);
      const calls = stored.filter((row) => row.operation_name === 'ai.generateText.doGenerate');
      expect(calls.map((row) => row.cost_usd)).toEqual([
        expect.closeTo(chatCostUsd(true, TOOL_CALL_ANSWER), 15),
        expect.closeTo(chatCostUsd(true, TOOL_ANSWER), 15),
      ]);
      expect(stored.reduce((sum, row) => sum + (row.cost_usd ?? 0), 0)).toBeCloseTo(expected, 15);
      expect(rowNamed(stored, 'ai.generateText').text_custom_metrics?.['aggregate_cost_usd']).toBeCloseTo(
        expected,
        15,
      );
    });
  });

  describe('embeddings', () => {
    it('stores embedding rows for ai.embed and its model call, with the input tokens reported', async () => {
      const stored = await rows('embedding');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        ['ai.embed', 'embedding'],
        ['ai.embed.doEmbed', 'embedding'],
      ]);
      expect(tokensOf(rowNamed(stored, 'ai.embed.doEmbed'))).toEqual({
        input_tokens: EMBEDDING_TOKENS_PER_INPUT,
      });
      expect(sumOf(stored, 'input_tokens')).toBe(EMBEDDING_TOKENS_PER_INPUT);
    });

    it('stores the input tokens of every value of embedMany', async () => {
      const inner = rowNamed(await rows('embedding-many'), 'ai.embedMany.doEmbed');
      expect(tokensOf(inner)).toEqual({ input_tokens: EMBEDDING_TOKENS_PER_INPUT * EMBEDDING_INPUTS.length });
    });
  });

  describe('errors', () => {
    it.each([
      ['error-429', ERROR_429_MESSAGE],
      ['error-500', ERROR_500_MESSAGE],
    ])('stores both rows of a call answered %s with the error and its type', async (scenario, message) => {
      const stored = await rows(scenario);
      expect(stored.map((row) => [row.operation_name, row.error, row.error_type])).toEqual([
        ['ai.generateText', message, 'AI_APICallError'],
        ['ai.generateText.doGenerate', message, 'AI_APICallError'],
      ]);
    });

    it('marks the failed ai.generateText, which has no usage, as repeating its model call, so the failure counts once', async () => {
      const stored = await rows('error-429');
      expect(
        stored.map((row) => [row.operation_name, row.text_custom_metrics?.['aggregate'] ?? null]),
      ).toEqual([
        ['ai.generateText', true],
        ['ai.generateText.doGenerate', null],
      ]);
    });

    it('keeps the session on the rows of a failed call', async () => {
      const stored = await rows('error-429');
      expect(stored.map((row) => row.session_id)).toEqual([AI6_SESSION_ID, AI6_SESSION_ID]);
    });
  });
});

describe('AI SDK 6: both sinks', () => {
  it.skipIf(!SINKS.includes('postgres')).each(['chat', 'chat-image', 'agent-loop', 'embedding', 'error-500'])(
    'PostgreSQL holds the same rows as Parquet (%s)',
    async (scenario) => {
      const { rows } = await pipeline.run(scenario);
      expect(rows.parquet.length).toBeGreaterThan(0);
      expect(rows.postgres).toEqual(rows.parquet);
    },
  );
});

describe.each(SINKS)('AI SDK 6 → %s: a streamed call', (sink: SinkName) => {
  it('stores the first-token time of the doStream span, its timings, and that it was streamed', async () => {
    const { rows, spans } = await pipeline.run('chat-stream');
    const span = spans.find((s) => s.name === 'ai.streamText.doStream')!;
    const row = rowOf(rows[sink], span);
    expect(row.time_to_first_token_ms).toBeCloseTo(
      span.attributes['ai.response.msToFirstChunk'] as number,
      9,
    );
    expect(row.text_custom_metrics).toMatchObject({
      ms_to_finish: span.attributes['ai.response.msToFinish'],
    });
    expect(row.custom_attributes).toMatchObject({ request: { stream: true } });
    expect(rowNamed(rows[sink], 'ai.streamText').time_to_first_token_ms).toBeNull();
  });
});

describeWhyCallsStop('AI SDK 6', pipeline, 'tool-calls');
