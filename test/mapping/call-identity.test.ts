/**
 * Which model and which provider a span's call was for (the `model` and
 * `provider` columns of schema 1.1), on the spans real instrumentations
 * emitted (test/fixtures/captured/).
 */
import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  callModels,
  modelColumn,
  normaliseProvider,
  providerName,
  type CallModels,
} from '../../src/mapping/call-identity.js';
import { SpanView } from '../../src/mapping/span-view.js';
import * as other from '../fixtures/spans/other-instrumentations.js';
import { capturedSpan, loadCapturedFixture, loadCapturedSpans } from '../support/captured-span.js';
import { CHAT_MODEL, EMBEDDING_MODEL } from '../support/capture/prompts.js';
import { responseModelFor } from '../support/fake-llm-server.js';

const SNAPSHOT = responseModelFor(CHAT_MODEL);

interface SpanShape {
  readonly name: string;
  readonly attributes: Attributes;
}

function viewOf(span: SpanShape): SpanView {
  return new SpanView(span.name, span.attributes, {});
}

/** The n-th captured span of that name (0: the first). */
function captured(target: string, scenario: string, name: string, n = 0): SpanShape {
  const span = loadCapturedSpans(target, scenario).filter((s) => s.name === name)[n];
  if (!span) throw new Error(`no span ${name} #${n} in ${target}/${scenario}`);
  return span;
}

/**
 * The span of a failed call as the instrumentation left it, never ended:
 * OpenLLMetry and OpenInference end no span of a call that failed, so no
 * exporter receives it, but it shows what the span held.
 */
function unended(target: string, scenario: string, name: string): SpanShape {
  const json = loadCapturedFixture(target, scenario).unendedSpans.find((s) => s.name === name);
  if (!json) throw new Error(`no unended span ${name} in ${target}/${scenario}`);
  return capturedSpan(json);
}

/** A span of the same shape whose attributes name `to` wherever they named `from` (a model, in JSON too). */
function renamed(span: SpanShape, from: string, to: string): SpanShape {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(span.attributes)) {
    attributes[key] = typeof value === 'string' ? value.replaceAll(from, to) : value;
  }
  return { name: span.name.replaceAll(from, to), attributes };
}

const models = (request: string | undefined, response: string | undefined): CallModels => ({
  request,
  response,
});

describe('callModels on the spans of each instrumentation', () => {
  it.each<[string, () => SpanShape, CallModels]>([
    // @opentelemetry/instrumentation-openai 0.21
    [
      'contrib OpenAI: chat',
      () => captured('contrib-openai', 'chat', `chat ${CHAT_MODEL}`),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'contrib OpenAI: streamed chat',
      () => captured('contrib-openai', 'chat-stream', `chat ${CHAT_MODEL}`),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'contrib OpenAI: embedding',
      () => captured('contrib-openai', 'embedding', `embeddings ${EMBEDDING_MODEL}`),
      models(EMBEDDING_MODEL, EMBEDDING_MODEL),
    ],
    [
      'contrib OpenAI: failed call',
      () => captured('contrib-openai', 'error-429', 'chat error-429'),
      models('error-429', undefined),
    ],
    // @traceloop/instrumentation-openai 0.27 (no span for embeddings; a failed call's span is never ended)
    [
      'OpenLLMetry: chat',
      () => captured('openllmetry-openai', 'chat', `chat ${CHAT_MODEL}`),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'OpenLLMetry: streamed chat',
      () => captured('openllmetry-openai', 'chat-stream', `chat ${CHAT_MODEL}`),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'OpenLLMetry: failed call',
      () => unended('openllmetry-openai', 'error-429', 'chat error-429'),
      models('error-429', undefined),
    ],
    // @arizeai/openinference-instrumentation-openai 4.2.7
    [
      'OpenInference: chat',
      () => captured('openinference-openai', 'chat', 'OpenAI Chat Completions'),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'OpenInference: streamed chat',
      () => captured('openinference-openai', 'chat-stream', 'OpenAI Chat Completions'),
      models(CHAT_MODEL, undefined),
    ],
    [
      'OpenInference: embedding',
      () => captured('openinference-openai', 'embedding', 'OpenAI Embeddings'),
      models(EMBEDDING_MODEL, undefined),
    ],
    [
      'OpenInference: failed call',
      () => unended('openinference-openai', 'error-429', 'OpenAI Chat Completions'),
      models('error-429', undefined),
    ],
    // ai 6.0 (ai.* and, on the model call, gen_ai.*)
    [
      'AI SDK 6: generateText',
      () => captured('ai6', 'chat', 'ai.generateText'),
      models(CHAT_MODEL, undefined),
    ],
    [
      'AI SDK 6: its model call',
      () => captured('ai6', 'chat', 'ai.generateText.doGenerate'),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'AI SDK 6: streamed model call',
      () => captured('ai6', 'chat-stream', 'ai.streamText.doStream'),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'AI SDK 6: embedding',
      () => captured('ai6', 'embedding', 'ai.embed.doEmbed'),
      models(EMBEDDING_MODEL, undefined),
    ],
    [
      'AI SDK 6: failed model call',
      () => captured('ai6', 'error-429', 'ai.generateText.doGenerate'),
      models('error-429', undefined),
    ],
    // ai 7 (GenAI names), and its legacy ai.* form
    ['AI SDK 7: chat', () => captured('ai7', 'chat', `chat ${CHAT_MODEL}`), models(CHAT_MODEL, SNAPSHOT)],
    [
      'AI SDK 7: streamed chat',
      () => captured('ai7', 'chat-stream', `chat ${CHAT_MODEL}`),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'AI SDK 7: embedding',
      () => captured('ai7', 'embedding', `embeddings ${EMBEDDING_MODEL}`),
      models(EMBEDDING_MODEL, undefined),
    ],
    [
      'AI SDK 7: failed chat',
      () => captured('ai7', 'error-429', 'chat error-429'),
      models('error-429', undefined),
    ],
    [
      'AI SDK 7 legacy: model call',
      () => captured('ai7-legacy', 'chat', 'ai.generateText.doGenerate'),
      models(CHAT_MODEL, SNAPSHOT),
    ],
    [
      'AI SDK 7 legacy: embedding',
      () => captured('ai7-legacy', 'embedding', 'ai.embed.doEmbed'),
      models(EMBEDDING_MODEL, undefined),
    ],
  ])('%s', (_case, span, expected) => {
    expect(callModels(viewOf(span()))).toEqual(expected);
  });

  it('takes Langfuse’s observation model as the request model', () => {
    expect(callModels(viewOf(other.langfuseGeneration()))).toEqual(models('gpt-4.1', undefined));
  });

  it('takes llm.model_name as the request model when no request model is named beside it', () => {
    const span = { name: 'ChatOpenAI', attributes: { 'llm.model_name': 'gpt-4o', 'llm.system': 'openai' } };
    expect(callModels(viewOf(span))).toEqual(models('gpt-4o', undefined));
  });

  it('takes the GenAI response model over a differing llm.model_name', () => {
    const span = captured('openinference-openai', 'chat', 'OpenAI Chat Completions');
    const attributes = { ...span.attributes, 'gen_ai.response.model': 'gpt-4o-mini-2024-09-09' };
    expect(callModels(viewOf({ ...span, attributes })).response).toBe('gpt-4o-mini-2024-09-09');
  });

  it.each<[string, () => SpanShape, RegExp]>([
    ['contrib OpenAI', () => captured('contrib-openai', 'chat', `chat ${CHAT_MODEL}`), /^gen_ai\./],
    [
      'OpenInference',
      () => captured('openinference-openai', 'chat', 'OpenAI Chat Completions'),
      /^(llm|embedding)\./,
    ],
    ['AI SDK 7', () => captured('ai7', 'chat', `chat ${CHAT_MODEL}`), /^gen_ai\./],
  ])('reads no attribute of a convention the %s span does not carry', (_case, span, carried) => {
    const { name, attributes } = span();
    const missed: string[] = [];
    const watched = new Proxy(attributes, {
      get(target, key, receiver) {
        if (typeof key === 'string' && !(key in target)) missed.push(key);
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const view = viewOf({ name, attributes: watched });
    callModels(view);
    providerName(view);
    expect(missed.filter((key) => !carried.test(key))).toEqual([]);
  });
});

describe('the model column', () => {
  it.each<[string, () => SpanShape]>([
    ['contrib OpenAI', () => captured('contrib-openai', 'chat', `chat ${CHAT_MODEL}`)],
    ['OpenLLMetry', () => captured('openllmetry-openai', 'chat', `chat ${CHAT_MODEL}`)],
    ['OpenInference', () => captured('openinference-openai', 'chat', 'OpenAI Chat Completions')],
    ['AI SDK 6', () => captured('ai6', 'chat', 'ai.generateText.doGenerate')],
    ['AI SDK 7', () => captured('ai7', 'chat', `chat ${CHAT_MODEL}`)],
  ])('is the model asked for, not the snapshot that answered (%s)', (_case, span) => {
    expect(modelColumn(callModels(viewOf(span())))).toBe(CHAT_MODEL);
  });

  it.each<[string, () => SpanShape, () => SpanShape]>([
    [
      'contrib OpenAI',
      () => captured('contrib-openai', 'chat', `chat ${CHAT_MODEL}`),
      () => captured('contrib-openai', 'error-429', 'chat error-429'),
    ],
    [
      'OpenInference',
      () => captured('openinference-openai', 'chat', 'OpenAI Chat Completions'),
      () => unended('openinference-openai', 'error-429', 'OpenAI Chat Completions'),
    ],
    [
      'AI SDK 6',
      () => captured('ai6', 'chat', 'ai.generateText.doGenerate'),
      () => captured('ai6', 'error-429', 'ai.generateText.doGenerate'),
    ],
    [
      'AI SDK 7',
      () => captured('ai7', 'chat', `chat ${CHAT_MODEL}`),
      () => captured('ai7', 'error-429', 'chat error-429'),
    ],
  ])('is the same for a failed call as for a successful one of that model (%s)', (_case, ok, failed) => {
    const succeeded = callModels(viewOf(ok()));
    const failedCall = callModels(viewOf(renamed(failed(), 'error-429', CHAT_MODEL)));
    expect(failedCall.response).toBeUndefined();
    expect(modelColumn(failedCall)).toBe(modelColumn(succeeded));
  });

  it('is the response model when the span names no request model', () => {
    expect(modelColumn(models(undefined, SNAPSHOT))).toBe(SNAPSHOT);
  });

  it('is undefined when the span names no model', () => {
    expect(modelColumn(callModels(viewOf(captured('ai6', 'tool-call', 'ai.toolCall'))))).toBeUndefined();
  });
});

describe('normaliseProvider', () => {
  it.each([
    // the well-known values themselves (GenAI semantic conventions v1.41.0)
    ['openai', 'openai', 'gen_ai.provider.name'],
    ['azure.ai.openai', 'azure.ai.openai', 'gen_ai.provider.name'],
    ['gcp.vertex_ai', 'gcp.vertex_ai', 'gen_ai.provider.name'],
    ['ibm.watsonx.ai', 'ibm.watsonx.ai', 'gen_ai.provider.name'],
    // deprecated gen_ai.system values
    ['az.ai.openai', 'azure.ai.openai', 'gen_ai.system (deprecated value)'],
    ['az.ai.inference', 'azure.ai.inference', 'gen_ai.system (deprecated value)'],
    ['gemini', 'gcp.gemini', 'gen_ai.system (deprecated value)'],
    ['vertex_ai', 'gcp.vertex_ai', 'gen_ai.system (deprecated value)'],
    ['xai', 'x_ai', 'gen_ai.system (deprecated value)'],
    // OpenLLMetry gen_ai.system
    ['OpenAI', 'openai', 'OpenLLMetry 0.22 gen_ai.system'],
    ['Anthropic', 'anthropic', 'OpenLLMetry 0.22 gen_ai.system'],
    ['Azure', 'azure.ai.openai', 'OpenLLMetry 0.22 gen_ai.system'],
    ['Azure OpenAI', 'azure.ai.openai', 'OpenLLMetry 0.11 gen_ai.system'],
    ['AWS', 'aws.bedrock', 'OpenLLMetry 0.22 gen_ai.system'],
    ['Google', 'gcp.gen_ai', 'OpenLLMetry 0.22 gen_ai.system'],
    ['VertexAI', 'gcp.vertex_ai', 'OpenLLMetry 0.11 gen_ai.system'],
    ['Cohere', 'cohere', 'OpenLLMetry 0.27 gen_ai.system'],
    ['watsonx', 'ibm.watsonx.ai', 'OpenLLMetry (Python) gen_ai.system'],
    // OpenInference llm.provider and llm.system
    ['azure', 'azure.ai.openai', 'OpenInference llm.provider'],
    ['aws', 'aws.bedrock', 'OpenInference llm.provider'],
    ['google', 'gcp.gen_ai', 'OpenInference llm.provider'],
    ['mistralai', 'mistral_ai', 'OpenInference llm.system'],
    ['vertexai', 'gcp.vertex_ai', 'OpenInference llm.system'],
    ['amazon', 'aws.bedrock', 'OpenInference llm.system'],
    // the AI SDK's ai.model.provider (and gen_ai.system of AI SDK 4 to 6)
    ['openai.chat', 'openai', '@ai-sdk/openai'],
    ['openai.responses', 'openai', '@ai-sdk/openai'],
    ['openai.embedding', 'openai', '@ai-sdk/openai'],
    ['anthropic.messages', 'anthropic', '@ai-sdk/anthropic'],
    ['google.generative-ai', 'gcp.gemini', '@ai-sdk/google'],
    ['google.vertex.chat', 'gcp.vertex_ai', '@ai-sdk/google-vertex'],
    ['googleVertex.anthropic.messages', 'gcp.vertex_ai', '@ai-sdk/google-vertex'],
    ['amazon-bedrock', 'aws.bedrock', '@ai-sdk/amazon-bedrock'],
    ['bedrock.anthropic.messages', 'aws.bedrock', '@ai-sdk/amazon-bedrock'],
    ['azure.chat', 'azure.ai.openai', '@ai-sdk/azure'],
    ['azure.responses', 'azure.ai.openai', '@ai-sdk/azure'],
    ['azure-openai.chat', 'azure.ai.openai', 'earlier @ai-sdk/azure'],
    ['mistral.chat', 'mistral_ai', '@ai-sdk/mistral'],
    ['groq.chat', 'groq', '@ai-sdk/groq'],
    ['xai.chat', 'x_ai', '@ai-sdk/xai'],
    ['deepseek.chat', 'deepseek', '@ai-sdk/deepseek'],
    ['cohere.chat', 'cohere', '@ai-sdk/cohere'],
    ['cohere.textEmbedding', 'cohere', '@ai-sdk/cohere'],
    ['perplexity', 'perplexity', '@ai-sdk/perplexity'],
  ])('gives %s as %s (%s)', (raw, expected) => {
    expect(normaliseProvider(raw)).toBe(expected);
  });

  it.each([
    ['TogetherAI', 'togetherai'],
    ['OpenRouter', 'openrouter'],
    ['My.Gateway', 'my.gateway'],
  ])('keeps an unknown provider’s own name, lower-case: %s', (raw, expected) => {
    expect(normaliseProvider(raw)).toBe(expected);
  });

  it('keeps an unknown AI SDK provider’s name without the model type', () => {
    expect(normaliseProvider('fireworks.chat')).toBe('fireworks');
  });

  it('trims the value', () => {
    expect(normaliseProvider('  OpenAI \n')).toBe('openai');
  });

  it.each([[''], ['   ']])('gives no provider for a blank value (%j)', (raw) => {
    expect(normaliseProvider(raw)).toBeUndefined();
  });

  it('cuts a long name to the column, 100 code points', () => {
    expect(normaliseProvider('X'.repeat(5000))).toBe('x'.repeat(100));
    expect([...normaliseProvider('😀'.repeat(150))!]).toHaveLength(100);
  });
});

describe('providerName', () => {
  it.each<[string, () => SpanShape]>([
    ['contrib OpenAI (gen_ai.system)', () => captured('contrib-openai', 'chat', `chat ${CHAT_MODEL}`)],
    [
      'OpenLLMetry (gen_ai.provider.name)',
      () => captured('openllmetry-openai', 'chat', `chat ${CHAT_MODEL}`),
    ],
    ['OpenInference (llm.system)', () => captured('openinference-openai', 'chat', 'OpenAI Chat Completions')],
    ['AI SDK 6 (ai.model.provider openai.chat)', () => captured('ai6', 'chat', 'ai.generateText')],
    ['AI SDK 6 (ai.model.provider openai.embedding)', () => captured('ai6', 'embedding', 'ai.embed')],
    ['AI SDK 7 (gen_ai.provider.name)', () => captured('ai7', 'chat', `chat ${CHAT_MODEL}`)],
  ])('names openai for %s', (_case, span) => {
    expect(providerName(viewOf(span()))).toBe('openai');
  });

  const allFive: Attributes = {
    'gen_ai.provider.name': 'azure.ai.openai',
    'gen_ai.system': 'Anthropic',
    'llm.provider': 'aws',
    'llm.system': 'mistralai',
    'ai.model.provider': 'groq.chat',
  };

  it.each([
    ['gen_ai.provider.name', 'azure.ai.openai'],
    ['gen_ai.system', 'anthropic'],
    ['llm.provider', 'aws.bedrock'],
    ['llm.system', 'mistral_ai'],
    ['ai.model.provider', 'groq'],
  ])('takes %s before the keys after it', (key, expected) => {
    const keys = Object.keys(allFive);
    const attributes = Object.fromEntries(keys.slice(keys.indexOf(key)).map((k) => [k, allFive[k]]));
    expect(providerName(viewOf({ name: 'chat', attributes }))).toBe(expected);
  });

  it('takes the host OpenInference names in llm.provider over the model family in llm.system', () => {
    const span = captured('openinference-openai', 'chat', 'OpenAI Chat Completions');
    const attributes = { ...span.attributes, 'llm.provider': 'azure' };
    expect(providerName(viewOf({ ...span, attributes }))).toBe('azure.ai.openai');
  });

  it('passes over a blank value to the next key', () => {
    const attributes = { 'gen_ai.provider.name': '  ', 'gen_ai.system': 'openai' };
    expect(providerName(viewOf({ name: 'chat', attributes }))).toBe('openai');
  });

  it('is undefined for a span that names no provider', () => {
    expect(providerName(viewOf(captured('ai6', 'tool-call', 'ai.toolCall')))).toBeUndefined();
  });
});
