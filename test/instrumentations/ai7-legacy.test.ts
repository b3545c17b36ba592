/**
 * AI SDK 7 with @ai-sdk/otel's LegacyOpenTelemetry: AI SDK 6's span names and
 * ai.* attributes, run live with the OpenAI provider against the fake server.
 */
import { describe, expect, it } from 'vitest';
import { CHAT_ANSWER, WEATHER_TOOL_NAME } from '../support/fake-llm-server.js';
import { SMALL_PNG } from '../support/png.js';
import { liveCapture } from '../support/capture/live.js';
import { AI7_SESSION_ID, ai7Legacy } from '../support/capture/targets/ai7.js';
import { hostnames, jsonAttribute, parentIdOf, spanNamed } from './span-queries.js';

const live = liveCapture(ai7Legacy);

describe('AI SDK 7 LegacyOpenTelemetry', () => {
  it('makes AI SDK 6 spans: ai.generateText around ai.generateText.doGenerate, scope "ai"', async () => {
    const { spans } = await live.run('chat');
    expect(spans.map((span) => span.name)).toEqual(['ai.generateText', 'ai.generateText.doGenerate']);
    expect(spans.every((span) => span.instrumentationScope.name === 'ai')).toBe(true);
  });

  it('carries the session as ai.settings.context.* on every span, with no integration option', async () => {
    const { spans } = await live.run('agent-loop');
    expect(spans.map((span) => span.attributes['ai.settings.context.sessionId'])).toEqual(
      spans.map(() => AI7_SESSION_ID),
    );
    expect(
      spans.flatMap((span) => Object.keys(span.attributes)).filter((key) => key.includes('metadata')),
    ).toEqual([]);
  });

  it('records the usage with ai.usage.* on both spans, as AI SDK 6 does', async () => {
    const { spans } = await live.run('chat');
    expect(spans.map((span) => span.attributes['ai.usage.inputTokens'])).toEqual([
      CHAT_ANSWER.usage.prompt_tokens,
      CHAT_ANSWER.usage.prompt_tokens,
    ]);
  });

  it('puts ai.toolCall under the ai.generateText.doGenerate that asked for it (AI SDK 6: under ai.generateText)', async () => {
    const { spans } = await live.run('tool-call');
    const toolCall = spanNamed(spans, 'ai.toolCall');
    expect(toolCall.attributes['ai.toolCall.name']).toBe(WEATHER_TOOL_NAME);
    expect(parentIdOf(toolCall)).toBe(spanNamed(spans, 'ai.generateText.doGenerate').spanContext().spanId);
  });

  it('serialises a Buffer file part in the outer ai.prompt as {"type":"Buffer","data":[bytes]}', async () => {
    const outer = spanNamed((await live.run('chat-image')).spans, 'ai.generateText');
    const prompt = jsonAttribute(outer, 'ai.prompt') as { messages: Array<{ content: unknown[] }> };
    expect(prompt.messages[0]!.content[1]).toMatchObject({
      type: 'file',
      data: { type: 'Buffer', data: [...SMALL_PNG] },
    });
  });

  it('sent every HTTP request of this file to the fake server on 127.0.0.1', async () => {
    expect(hostnames(live.outgoingOrigins)).toEqual(['127.0.0.1']);
  });
});
