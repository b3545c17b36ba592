/**
 * Each convention's real span shapes (see the fixtures for the instrumentation
 * source and version each one follows) map to the row the design specifies.
 */
import { describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { gif6x2 } from '../fixtures/images.js';
import * as aiSdk from '../fixtures/spans/ai-sdk.js';
import * as aiSdk7 from '../fixtures/spans/ai-sdk-7.js';
import * as openInference from '../fixtures/spans/openinference.js';
import * as openLlmetry from '../fixtures/spans/openllmetry.js';
import * as legacy from '../fixtures/spans/openllmetry-legacy.js';
import * as other from '../fixtures/spans/other-instrumentations.js';
import { spanNamed } from '../fixtures/spans/record.js';

function row(
  span: Parameters<typeof toMetricEvent>[0],
  options?: Parameters<typeof toMetricEvent>[1],
): MetricEvent {
  const event = toMetricEvent(span, options);
  if (!event) throw new Error(`span ${span.name} was filtered out`);
  return event;
}

describe('OpenLLMetry 0.27 (GenAI messages)', () => {
  it('maps a chat with a session, usage and an image', () => {
    const event = row(openLlmetry.openLlmetryChatWithImage()[0]!);
    expect(event).toMatchObject({
      session_id: openLlmetry.OLLY_SESSION,
      operation_type: 'llm_call',
      text_char_count: 'A black square.\nNothing else in it.'.length,
      text_line_count: 2,
      image_count: 1,
      image_width: 4,
      image_height: 3,
      image_format: 'png',
    });
    expect(event.text_custom_metrics).toMatchObject({
      input_tokens: 30,
      output_tokens: 12,
      total_tokens: 42,
    });
    expect(event.custom_attributes).toMatchObject({
      user_id: 'user-7',
      provider: 'openai',
      model: 'gpt-4o-2024-08-06',
    });
  });

  it('counts the arguments of a tool call as the output of the model', () => {
    const event = row(openLlmetry.openLlmetryToolCall().chat);
    expect(event.text_char_count).toBe(JSON.stringify({ city: 'Paris' }).length);
  });

  it('types the Traceloop tool span as tool_call with its result as output text', () => {
    const event = row(openLlmetry.openLlmetryToolCall().tool);
    expect([event.operation_type, event.text_char_count]).toEqual([
      'tool_call',
      '22 degrees and sunny'.length,
    ]);
  });

  it('takes error and error_type from the status and the exception event of a failed Anthropic call', () => {
    const event = row(openLlmetry.openLlmetryAnthropicError());
    expect(event.error).toMatch(/^429 /);
    expect(event.error_type).toBe('RateLimitError');
  });

  it('types the workflow span and keeps its chat child’s tokens as plain input_tokens', () => {
    const spans = openLlmetry.openLlmetryWorkflow();
    const workflow = row(spanNamed(spans, 'plan_trip.workflow'));
    const chat = row(spanNamed(spans, 'chat gpt-4o'));
    expect(workflow.operation_type).toBe('workflow');
    expect(chat.parent_span_id).toBe(workflow.span_id);
    expect(chat.text_custom_metrics).toMatchObject({ input_tokens: 11, output_tokens: 7 });
    expect(chat.session_id).toBe('trip-42');
  });
});

describe('OpenLLMetry before 0.27 (indexed gen_ai.prompt.N)', () => {
  it('reads prompts, the completion, an image_url data URL and the deprecated token names', () => {
    const event = row(legacy.legacyChatWithImage());
    expect(event).toMatchObject({
      session_id: 'legacy-session',
      text_char_count: 'A red rectangle.'.length,
      image_format: 'jpeg',
      image_width: 5,
      image_height: 3,
    });
    expect(event.text_custom_metrics).toMatchObject({
      input_char_count: 'Be brief.\nDescribe it'.length,
      input_tokens: 20,
      output_tokens: 5,
      total_tokens: 25,
    });
  });

  it('counts indexed tool-call arguments as output text', () => {
    expect(row(legacy.legacyToolCallCompletion()).text_char_count).toBe('{"city":"Oslo"}'.length);
  });
});

describe('OpenInference', () => {
  it('maps a chat with session.id, token counts including cache reads, and an image', () => {
    const event = row(openInference.openInferenceChatWithImage(gif6x2(), 'image/gif'));
    expect(event).toMatchObject({
      session_id: openInference.OI_SESSION,
      image_count: 1,
      image_format: 'gif',
    });
    expect(event.text_custom_metrics).toMatchObject({
      input_tokens: 120,
      output_tokens: 4,
      cache_read_tokens: 64,
    });
    expect(event.custom_attributes).toMatchObject({
      user_id: 'oi-user',
      metadata: { tenant: 'acme', plan: 'pro' },
    });
  });

  it('measures an image redacted in the messages from the data URL still in input.value', () => {
    const event = row(openInference.openInferenceChatWithImage(gif6x2(), 'image/gif', { redacted: true }));
    expect([event.image_count, event.image_width, event.image_height]).toEqual([1, 6, 2]);
  });

  it('types an embedding and measures its input texts', () => {
    const event = row(openInference.openInferenceEmbedding());
    expect(event.operation_type).toBe('embedding');
    expect(event.text_custom_metrics).toMatchObject({ input_char_count: 'first text\nsecond one'.length });
    expect(event.text_char_count).toBeNull();
  });

  it('records an exception event and an ERROR status as error and error_type', () => {
    const event = row(openInference.openInferenceError());
    expect([event.error, event.error_type]).toEqual(['500 The server had an error', 'InternalServerError']);
  });

  it('keeps the agent’s repeated usage as aggregate_* and its LLM child’s as input_tokens', () => {
    const spans = openInference.openInferenceAgentTree();
    const agent = row(spanNamed(spans, 'AgentExecutor'));
    const llm = row(spanNamed(spans, 'ChatOpenAI'));
    expect(agent.text_custom_metrics).toMatchObject({ aggregate_input_tokens: 80 });
    expect(agent.text_custom_metrics).not.toHaveProperty('input_tokens');
    expect(llm.text_custom_metrics).toMatchObject({ input_tokens: 80, output_tokens: 15 });
  });

  it('types a TOOL span as tool_call with its plain-text output', () => {
    const tool = row(spanNamed(openInference.openInferenceAgentTree(), 'get_weather'));
    expect([tool.operation_type, tool.text_char_count]).toEqual(['tool_call', 'Sunny, 25 degrees'.length]);
  });
});

describe('Vercel AI SDK 4 to 6', () => {
  it('measures the Buffer image of the outer span and the base64 file of doGenerate alike', () => {
    const spans = aiSdk.aiSdk6GenerateTextWithImage();
    const outer = row(spanNamed(spans, 'ai.generateText'));
    const inner = row(spanNamed(spans, 'ai.generateText.doGenerate'));
    for (const event of [outer, inner]) {
      expect([event.image_count, event.image_width, event.image_height, event.image_format]).toEqual([
        1,
        8,
        6,
        'png',
      ]);
    }
    expect(outer.image_file_size_bytes).toBe(inner.image_file_size_bytes);
  });

  it('keeps the outer generateText usage as aggregate_* and the doGenerate usage as the model call’s', () => {
    const spans = aiSdk.aiSdk6GenerateTextWithImage();
    expect(row(spanNamed(spans, 'ai.generateText')).text_custom_metrics).toMatchObject({
      aggregate_input_tokens: 100,
    });
    expect(row(spanNamed(spans, 'ai.generateText.doGenerate')).text_custom_metrics).toMatchObject({
      input_tokens: 100,
      output_tokens: 2,
      cache_read_tokens: 10,
      reasoning_tokens: 0,
    });
  });

  it('reads the session from ai.telemetry.metadata.sessionId', () => {
    const inner = spanNamed(aiSdk.aiSdk6GenerateTextWithImage(), 'ai.generateText.doGenerate');
    expect(row(inner).session_id).toBe(aiSdk.AI_SDK_SESSION);
  });

  it('types ai.toolCall as tool_call with its result as output text', () => {
    const event = row(aiSdk.aiSdk6ToolCall());
    expect(event.operation_type).toBe('tool_call');
    expect(event.text_char_count).toBe(JSON.stringify({ forecast: 'fog', celsius: 17 }).length);
    expect(event.custom_attributes).toMatchObject({ tool_name: 'get_weather' });
  });

  it('counts an embedding’s ai.usage.tokens as input tokens, aggregated on the outer ai.embed', () => {
    const spans = aiSdk.aiSdk6Embed();
    expect(row(spanNamed(spans, 'ai.embed.doEmbed')).text_custom_metrics).toMatchObject({ input_tokens: 6 });
    expect(row(spanNamed(spans, 'ai.embed')).text_custom_metrics).toMatchObject({
      aggregate_input_tokens: 6,
    });
  });

  it('records the exception event of a failed call', () => {
    expect(row(aiSdk.aiSdk6Error())).toMatchObject({
      error: 'Invalid API key',
      error_type: 'AI_APICallError',
    });
  });

  it('reads AI SDK 4 usage (promptTokens, completionTokens)', () => {
    expect(row(aiSdk.aiSdk4DoGenerate()).text_custom_metrics).toMatchObject({
      input_tokens: 8,
      output_tokens: 3,
    });
  });
});

describe('Vercel AI SDK 7 (@ai-sdk/otel)', () => {
  it('types invoke_agent and step as agents, chat as llm_call and execute_tool as tool_call', () => {
    const types = Object.fromEntries(
      aiSdk7.aiSdk7AgentRun().map((span) => [span.name, row(span).operation_type]),
    );
    expect(types).toEqual({
      'invoke_agent gpt-4o': 'agent',
      'step 1': 'agent',
      'chat gpt-4o': 'llm_call',
      'execute_tool weather': 'tool_call',
    });
  });

  it('reads the session from ai.settings.context.sessionId on the spans that carry it', () => {
    const spans = aiSdk7.aiSdk7AgentRun();
    expect(row(spanNamed(spans, 'invoke_agent gpt-4o')).session_id).toBe(aiSdk7.AI7_SESSION);
    expect(row(spanNamed(spans, 'chat gpt-4o'), { inheritedSessionId: aiSdk7.AI7_SESSION }).session_id).toBe(
      aiSdk7.AI7_SESSION,
    );
  });

  it('counts a run’s tokens once: on the chat span, and as aggregate_* on invoke_agent', () => {
    const spans = aiSdk7.aiSdk7AgentRun().map((span) => row(span));
    const summed = spans.reduce(
      (sum, event) => sum + Number(event.text_custom_metrics?.['input_tokens'] ?? 0),
      0,
    );
    expect(summed).toBe(300);
  });

  it('measures a WebP image given as a GenAI blob part', () => {
    const chat = row(spanNamed(aiSdk7.aiSdk7AgentRun(), 'chat gpt-4o'));
    expect([chat.image_format, chat.image_width, chat.image_height]).toEqual(['webp', 9, 5]);
  });

  it('types both embeddings spans as embedding, with usage on the inner one only', () => {
    const [inner, outer] = aiSdk7.aiSdk7Embedding().map((span) => row(span));
    expect([inner!.operation_type, outer!.operation_type]).toEqual(['embedding', 'embedding']);
    expect(inner!.text_custom_metrics).toMatchObject({ input_tokens: 5, cost_source: 'computed' });
    expect(Object.keys(inner!.text_custom_metrics!).filter((key) => key.endsWith('_tokens'))).toEqual([
      'input_tokens',
    ]);
  });
});

describe('content-free and other instrumentations', () => {
  it('maps the contrib OpenAI span: tokens and model without any text', () => {
    const event = row(other.contribOpenAiChat());
    expect(event.text_char_count).toBeNull();
    expect(event.text_custom_metrics).toMatchObject({ input_tokens: 14, output_tokens: 6, total_tokens: 20 });
    expect(event.text_custom_metrics?.['cost_source']).toBe('computed');
  });

  it('maps the contrib OpenAI error: status message and error.type, no exception event', () => {
    expect(row(other.contribOpenAiError())).toMatchObject({
      error: '429 Rate limit reached for gpt-4o-mini',
      error_type: 'RateLimitError',
    });
  });

  it('keeps the Anthropic SDK span’s usage as aggregate_* when its parent is a model call of the same call', () => {
    const inner = spanNamed(other.anthropicSdkUnderInstrumentation(), 'anthropic.messages.create');
    const event = row(inner, { parentIsModelCall: true });
    expect(event.text_custom_metrics).toMatchObject({
      aggregate_input_tokens: 40,
      aggregate_cache_creation_tokens: 5,
    });
    expect(event.session_id).toBe('anthropic-conversation');
  });

  it('maps a Langfuse generation: session, user, usage details, model and metadata', () => {
    const event = row(other.langfuseGeneration());
    expect(event).toMatchObject({
      session_id: 'lf-session',
      operation_type: 'llm_call',
      text_char_count: 10,
    });
    expect(event.text_custom_metrics).toMatchObject({ input_tokens: 12, output_tokens: 4, total_tokens: 16 });
    expect(event.custom_attributes).toMatchObject({
      user_id: 'lf-user',
      model: 'gpt-4.1',
      metadata: { feature: 'summary', release: 'v3' },
    });
  });

  it('drops a span without LLM attributes under the default filter', () => {
    expect(toMetricEvent(other.plainHttpSpan())).toBeUndefined();
  });

  it('keeps a span without LLM attributes under the `all` filter, typed other', () => {
    const event = row(other.plainHttpSpan(), { spans: 'all' });
    expect([event.operation_type, event.session_id]).toEqual(['other', 'web-session']);
  });
});
