/**
 * Where OpenLLMetry's session comes from: without the Traceloop SDK's span
 * processor, withAssociationProperties leaves no trace on the spans.
 */
import { describe, expect, it } from 'vitest';
import { liveCapture } from '../support/capture/live.js';
import { openllmetryOpenAIWithoutSdkProcessor } from '../support/capture/targets/openllmetry-openai.js';
import { keysStartingWith, onlySpan } from './span-queries.js';

const live = liveCapture(openllmetryOpenAIWithoutSdkProcessor);

describe('OpenLLMetry OpenAI instrumentation without the Traceloop SDK processor', () => {
  it('still makes its chat span', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(span.attributes['gen_ai.operation.name']).toBe('chat');
  });

  it('carries no association property: the session is set by the SDK processor only', async () => {
    const span = onlySpan((await live.run('chat')).spans);
    expect(keysStartingWith(span, 'traceloop.association.properties.')).toEqual([]);
  });

  it('carries no gen_ai.conversation.id under withConversation either', async () => {
    const chat = (await live.run('chat-conversation')).spans.find((span) => span.name.startsWith('chat '));
    expect(chat).toBeDefined();
    expect(chat!.attributes['gen_ai.conversation.id']).toBeUndefined();
  });
});
