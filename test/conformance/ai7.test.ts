/**
 * The Vercel AI SDK 7 (`ai` 7.0, `@ai-sdk/otel` 1.0, `@ai-sdk/openai` 4.0) with
 * the `OpenTelemetry` integration end to end: the OpenAI provider against the
 * fake server, the session in the runtime context, spans through
 * MetricEventsSpanProcessor into Parquet and PostgreSQL. The tree is
 * invoke_agent → step N → chat / execute_tool, and the session is on the first
 * two only: the processor carries it down to chat and execute_tool.
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
import { CHAT_MODEL, EMBEDDING_INPUTS, EMBEDDING_MODEL } from '../support/capture/prompts.js';
import { AI7_SESSION_ID, AI7_USER_ID, ai7 } from '../support/capture/targets/ai7.js';
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

const pipeline = conformanceCapture(ai7);
const INVOKE_AGENT = `invoke_agent ${CHAT_MODEL}`;
const CHAT = `chat ${CHAT_MODEL}`;
const TOOL = `execute_tool ${WEATHER_TOOL_NAME}`;
const EMBEDDINGS = `embeddings ${EMBEDDING_MODEL}`;

/** Input, output, total and cache reads: the usage this integration records (reasoning only with `usage: true`). */
function recordedTokens(answer: typeof CHAT_ANSWER) {
  const { input_tokens, output_tokens, total_tokens, cache_read_tokens } = reportedTokens(answer);
  return { input_tokens, output_tokens, total_tokens, cache_read_tokens };
}

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

describe.each(SINKS)('AI SDK 7 → %s', (sink: SinkName) => {
  const rows = async (scenario: string) => (await pipeline.run(scenario)).rows[sink];

  describe('schema 1.1 columns', () => {
    it('fills the model-call row: the model asked for, the provider, its tokens, why it stopped, the user and the service', async () => {
      const [row] = (await rows('chat')).filter(
        (r) => r.operation_type === 'llm_call' && r.input_tokens !== null,
      );
      expect(schema11Columns(row!)).toEqual(expectedChatColumns(AI7_USER_ID, ['reasoning_tokens']));
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
    it('stores agent rows for invoke_agent and step 1, and an llm_call row for chat', async () => {
      const stored = await rows('chat');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        [INVOKE_AGENT, 'agent'],
        ['step 1', 'agent'],
        [CHAT, 'llm_call'],
      ]);
    });

    it('links chat to its step, the step to invoke_agent, invoke_agent to the application span', async () => {
      const { appSpan, rows: all } = await pipeline.run('chat');
      const agent = rowNamed(all[sink], INVOKE_AGENT);
      const step = rowNamed(all[sink], 'step 1');
      expect(agent.parent_span_id).toBe(appSpan.spanId);
      expect(step.parent_span_id).toBe(agent.span_id);
      expect(rowNamed(all[sink], CHAT).parent_span_id).toBe(step.span_id);
    });

    it('gives every row the runtime-context session, chat too, which carries none itself', async () => {
      const { spans, rows: all } = await pipeline.run('chat');
      const chatSpan = spans.find((span) => span.name === CHAT)!;
      expect(
        Object.keys(chatSpan.attributes).filter((key) => key.startsWith('ai.settings.context.')),
      ).toEqual([]);
      expect(all[sink].map((row) => row.session_id)).toEqual([
        AI7_SESSION_ID,
        AI7_SESSION_ID,
        AI7_SESSION_ID,
      ]);
    });

    it('keeps the user, the agent name and the models', async () => {
      const stored = await rows('chat');
      expect(rowNamed(stored, INVOKE_AGENT).custom_attributes).toMatchObject({
        user_id: AI7_USER_ID,
        agent_name: 'capture-ai7',
      });
      expect(rowNamed(stored, CHAT).custom_attributes).toMatchObject({
        model: responseModelFor(CHAT_MODEL),
        request_model: CHAT_MODEL,
        response_model: responseModelFor(CHAT_MODEL),
        provider: 'openai',
      });
    });

    it('gives chat the user of its agent, so that its tokens count for that user', async () => {
      const chat = rowNamed(await rows('chat'), CHAT);
      expect(chat.custom_attributes).toMatchObject({ user_id: AI7_USER_ID });
    });

    it('stores on chat the input, output, total and cache-read tokens the server reported', async () => {
      const chat = rowNamed(await rows('chat'), CHAT);
      expect(tokensOf(chat)).toEqual(recordedTokens(CHAT_ANSWER));
    });

    it('keeps the usage invoke_agent repeats as aggregate_*, so the call counts once', async () => {
      const stored = await rows('chat');
      const agent = rowNamed(stored, INVOKE_AGENT);
      expect(tokensOf(agent)).toEqual({});
      expect(aggregateOf(agent)).toEqual(recordedTokens(CHAT_ANSWER));
      expect(sumOf(stored, 'input_tokens')).toBe(CHAT_ANSWER.usage.prompt_tokens);
    });

    it('prices the call once: invoke_agent keeps its cost as aggregate_cost_usd, SUM(cost_usd) is the model call', async () => {
      const stored = await rows('chat');
      const agent = rowNamed(stored, INVOKE_AGENT);
      const call = rowNamed(stored, CHAT);
      expect(agent.cost_usd).toBeNull();
      expect(call.cost_usd).toBeCloseTo(chatCostUsd(true), 15);
      expect(agent.text_custom_metrics?.['aggregate_cost_usd']).toBeCloseTo(call.cost_usd!, 15);
      expect(stored.reduce((sum, row) => sum + (row.cost_usd ?? 0), 0)).toBe(call.cost_usd);
    });

    it('measures the text the server answered, on chat and invoke_agent', async () => {
      const stored = await rows('chat');
      for (const name of [CHAT, INVOKE_AGENT]) {
        expect(textColumns(rowNamed(stored, name)), name).toEqual(textColumnsOf(answerText(CHAT_ANSWER)));
      }
    });
  });

  describe('streamText', () => {
    it('stores the same tree for a streamed call', async () => {
      const stored = await rows('chat-stream');
      expect(stored.map((row) => row.operation_name)).toEqual([INVOKE_AGENT, 'step 1', CHAT]);
    });

    it('measures a streamed answer like a plain one: text and tokens', async () => {
      const streamed = rowNamed(await rows('chat-stream'), CHAT);
      const plain = rowNamed(await rows('chat'), CHAT);
      expect(textColumns(streamed)).toEqual(textColumns(plain));
      expect(tokensOf(streamed)).toEqual(tokensOf(plain));
      expect(tokensOf(streamed)).toEqual(recordedTokens(CHAT_ANSWER));
    });
  });

  describe('an image', () => {
    it('stores the width, height, format and bytes of the image on chat and invoke_agent', async () => {
      const stored = await rows('chat-image');
      for (const name of [CHAT, INVOKE_AGENT]) {
        expect(imageColumns(rowNamed(stored, name)), name).toEqual(pngFacts(SMALL_PNG));
      }
    });

    it('measures the answer to the image question', async () => {
      const chat = rowNamed(await rows('chat-image'), CHAT);
      expect(textColumns(chat)).toEqual(textColumnsOf(answerText(IMAGE_ANSWER)));
    });

    it('stores the tokens the server reported for the image call', async () => {
      const chat = rowNamed(await rows('chat-image'), CHAT);
      expect(tokensOf(chat)).toEqual(recordedTokens(IMAGE_ANSWER));
    });
  });

  describe('tools', () => {
    it('stores execute_tool as a tool_call row under its step, with the inherited session', async () => {
      const stored = await rows('tool-call');
      const tool = rowNamed(stored, TOOL);
      expect(tool).toMatchObject({
        operation_type: 'tool_call',
        parent_span_id: rowNamed(stored, 'step 1').span_id,
        session_id: AI7_SESSION_ID,
      });
      expect(tool.custom_attributes).toMatchObject({ tool_name: WEATHER_TOOL_NAME });
    });

    it("measures the tool's result as the tool row's output", async () => {
      const tool = rowNamed(await rows('tool-call'), TOOL);
      expect(textColumns(tool)).toEqual(textColumnsOf(JSON.stringify(WEATHER_TOOL_RESULT)));
    });

    it("measures the tool call's arguments as chat's output", async () => {
      const chat = rowNamed(await rows('tool-call'), CHAT);
      expect(textColumns(chat)).toEqual(textColumnsOf(TOOL_CALL_ANSWER.toolCalls[0]!.arguments));
    });

    it('stores the tokens the server reported for the call that asked for the tool', async () => {
      const chat = rowNamed(await rows('tool-call'), CHAT);
      expect(tokensOf(chat)).toEqual(recordedTokens(TOOL_CALL_ANSWER));
    });

    it('measures the prompt of the call after the tool: question, tool call and result', async () => {
      const calls = (await rows('agent-loop')).filter((row) => row.operation_name === CHAT);
      expect(calls[1]!.text_custom_metrics).toMatchObject(inputColumnsOf(PROMPT_AFTER_TOOL));
    });

    it('counts each model call of a tool loop once in the sum of input tokens', async () => {
      const stored = await rows('agent-loop');
      const expected = TOOL_CALL_ANSWER.usage.prompt_tokens + TOOL_ANSWER.usage.prompt_tokens;
      expect(stored.filter((row) => row.operation_name === CHAT)).toHaveLength(2);
      expect(sumOf(stored, 'input_tokens')).toBe(expected);
      expect(aggregateOf(rowNamed(stored, INVOKE_AGENT)).input_tokens).toBe(expected);
    });

    it('sums cost_usd over a tool loop to the cost of its model calls, each priced from its own usage', async () => {
      const stored = await rows('agent-loop');
      const expected = chatCostUsd(true, TOOL_CALL_ANSWER) + chatCostUsd(true, TOOL_ANSWER);
      const calls = stored.filter((row) => row.operation_name === CHAT);
      expect(calls.map((row) => row.cost_usd)).toEqual([
        expect.closeTo(chatCostUsd(true, TOOL_CALL_ANSWER), 15),
        expect.closeTo(chatCostUsd(true, TOOL_ANSWER), 15),
      ]);
      expect(stored.reduce((sum, row) => sum + (row.cost_usd ?? 0), 0)).toBeCloseTo(expected, 15);
      expect(rowNamed(stored, INVOKE_AGENT).text_custom_metrics?.['aggregate_cost_usd']).toBeCloseTo(
        expected,
        15,
      );
    });

    it('gives every row of a tool loop the session', async () => {
      const stored = await rows('agent-loop');
      expect(stored).toHaveLength(6);
      expect(new Set(stored.map((row) => row.session_id))).toEqual(new Set([AI7_SESSION_ID]));
    });
  });

  describe('embeddings', () => {
    it('stores two embedding rows, the inner one under the outer one, with the input tokens', async () => {
      const stored = await rows('embedding');
      expect(stored.map((row) => [row.operation_name, row.operation_type])).toEqual([
        [EMBEDDINGS, 'embedding'],
        [EMBEDDINGS, 'embedding'],
      ]);
      const [outer, inner] = stored;
      expect(inner!.parent_span_id).toBe(outer!.span_id);
      expect(tokensOf(inner!)).toEqual({ input_tokens: EMBEDDING_TOKENS_PER_INPUT });
      expect(sumOf(stored, 'input_tokens')).toBe(EMBEDDING_TOKENS_PER_INPUT);
    });

    it('stores the input tokens of every value of embedMany once', async () => {
      const stored = await rows('embedding-many');
      expect(sumOf(stored, 'input_tokens')).toBe(EMBEDDING_TOKENS_PER_INPUT * EMBEDDING_INPUTS.length);
    });
  });

  describe('errors', () => {
    it.each([
      ['error-429', ERROR_429_MESSAGE],
      ['error-500', ERROR_500_MESSAGE],
    ])(
      'stores the three rows of a call answered %s with the error and its type',
      async (scenario, message) => {
        const stored = await rows(scenario);
        expect(stored.map((row) => [row.operation_name, row.error, row.error_type])).toEqual([
          [`invoke_agent ${scenario}`, message, 'AI_APICallError'],
          ['step 1', message, 'AI_APICallError'],
          [`chat ${scenario}`, message, 'AI_APICallError'],
        ]);
      },
    );

    it('keeps the HTTP status of a failed call, which tells a rate limit from a server error', async () => {
      const [limited, failed] = [await rows('error-429'), await rows('error-500')];
      expect(limited.map((row) => row.custom_attributes?.http_status_code)).toEqual([429, 429, 429]);
      expect(failed.map((row) => row.custom_attributes?.http_status_code)).toEqual([500, 500, 500]);
    });

    it('gives every row of a failed call the session', async () => {
      const stored = await rows('error-500');
      expect(stored.map((row) => row.session_id)).toEqual([AI7_SESSION_ID, AI7_SESSION_ID, AI7_SESSION_ID]);
    });
  });
});

describe('AI SDK 7: both sinks', () => {
  it.skipIf(!SINKS.includes('postgres')).each(['chat', 'chat-image', 'agent-loop', 'embedding', 'error-429'])(
    'PostgreSQL holds the same rows as Parquet (%s)',
    async (scenario) => {
      const { rows } = await pipeline.run(scenario);
      expect(rows.parquet.length).toBeGreaterThan(0);
      expect(rows.postgres).toEqual(rows.parquet);
    },
  );
});

describe.each(SINKS)('AI SDK 7 → %s: a streamed call', (sink: SinkName) => {
  it('stores the chat span’s time to first chunk in milliseconds, and that it was streamed', async () => {
    const { rows, spans } = await pipeline.run('chat-stream');
    const span = spans.find((s) => s.name === `chat ${CHAT_MODEL}`)!;
    const row = rowOf(rows[sink], span);
    const seconds = span.attributes['gen_ai.client.operation.time_to_first_chunk'] as number;
    expect(row.time_to_first_token_ms).toBeCloseTo(seconds * 1000, 9);
    expect(row.custom_attributes).toMatchObject({ request: { stream: true } });
  });
});

describeWhyCallsStop('AI SDK 7', pipeline, 'tool-calls');
