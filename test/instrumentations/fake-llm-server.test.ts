/**
 * The fake OpenAI-compatible server, spoken to with plain fetch: the answers
 * the instrumentation tests compare against.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHAT_ANSWER,
  EMBEDDING_DIMENSIONS,
  EMBEDDING_TOKENS_PER_INPUT,
  ERROR_429_MESSAGE,
  ERROR_500_MESSAGE,
  IMAGE_ANSWER,
  TOOL_ANSWER,
  TOOL_CALL_ANSWER,
  embeddingVector,
  responseModelFor,
  startFakeLlmServer,
  type FakeLlmServer,
} from '../support/fake-llm-server.js';
import { SMALL_PNG, SMALL_PNG_HEIGHT, SMALL_PNG_WIDTH, pngDataUrl } from '../support/png.js';

let server: FakeLlmServer;
beforeAll(async () => {
  server = await startFakeLlmServer();
});
afterAll(() => server.close());

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.baseURL}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

type Json = Record<string, unknown> & { choices: Array<Record<string, unknown>> };

async function chat(body: Record<string, unknown>): Promise<Json> {
  return (await (await post('/chat/completions', { model: 'gpt-4o-mini', ...body })).json()) as Json;
}

function sseEvents(text: string): string[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

const question = [{ role: 'user', content: 'Hello?' }];
const weatherTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };

describe('the fake LLM server', () => {
  it('listens on 127.0.0.1 at an ephemeral port', () => {
    expect(server.baseURL).toBe(`http://127.0.0.1:${server.port}/v1`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('answers a chat with CHAT_ANSWER, its usage and a dated response model', async () => {
    const body = await chat({ messages: question });
    expect(body.choices[0]).toMatchObject({
      message: { role: 'assistant', content: CHAT_ANSWER.text },
      finish_reason: 'stop',
    });
    expect(body.usage).toEqual(CHAT_ANSWER.usage);
    expect(body.model).toBe(responseModelFor('gpt-4o-mini'));
  });

  it('answers a chat with an image_url part with IMAGE_ANSWER', async () => {
    const content = [
      { type: 'text', text: 'What?' },
      { type: 'image_url', image_url: { url: pngDataUrl(SMALL_PNG) } },
    ];
    const body = await chat({ messages: [{ role: 'user', content }] });
    expect(body.choices[0]).toMatchObject({ message: { content: IMAGE_ANSWER.text } });
  });

  it('calls the first offered tool when tools are offered', async () => {
    const body = await chat({ messages: question, tools: [weatherTool] });
    const call = TOOL_CALL_ANSWER.toolCalls[0]!;
    expect(body.choices[0]).toMatchObject({
      message: {
        content: null,
        tool_calls: [
          { id: call.id, type: 'function', function: { name: 'get_weather', arguments: call.arguments } },
        ],
      },
      finish_reason: 'tool_calls',
    });
  });

  it('answers a tool result with TOOL_ANSWER', async () => {
    const body = await chat({
      messages: [...question, { role: 'tool', tool_call_id: 'call_fake_0001', content: '{}' }],
      tools: [weatherTool],
    });
    expect(body.choices[0]).toMatchObject({ message: { content: TOOL_ANSWER.text }, finish_reason: 'stop' });
  });

  it('streams the answer as SSE chunks ending in [DONE], the text whole when joined', async () => {
    const response = await post('/chat/completions', { model: 'm', messages: question, stream: true });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseEvents(await response.text());
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Json);
    const text = chunks
      .map((c) => (c.choices[0]?.delta as { content?: string } | undefined)?.content ?? '')
      .join('');
    expect(text).toBe(CHAT_ANSWER.text);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it('sends a last chunk with the usage when stream_options.include_usage is set', async () => {
    const response = await post('/chat/completions', {
      model: 'm',
      messages: question,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = sseEvents(await response.text())
      .slice(0, -1)
      .map((e) => JSON.parse(e) as Json);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: CHAT_ANSWER.usage });
  });

  it('streams tool calls as tool_calls deltas whose arguments join to the call', async () => {
    const response = await post('/chat/completions', {
      model: 'm',
      messages: question,
      tools: [weatherTool],
      stream: true,
    });
    const deltas = sseEvents(await response.text())
      .slice(0, -1)
      .map(
        (e) =>
          (JSON.parse(e) as Json).choices[0]?.delta as {
            tool_calls?: Array<{ function: { arguments: string } }>;
          },
      );
    const args = deltas
      .flatMap((d) => d?.tool_calls ?? [])
      .map((c) => c.function.arguments)
      .join('');
    expect(args).toBe(TOOL_CALL_ANSWER.toolCalls[0]!.arguments);
  });

  it('returns float embeddings, one per input, with EMBEDDING_TOKENS_PER_INPUT each', async () => {
    const body = (await (
      await post('/embeddings', { model: 'e', input: ['a', 'b'], encoding_format: 'float' })
    ).json()) as {
      data: Array<{ embedding: number[] }>;
      usage: { prompt_tokens: number };
    };
    expect(body.data.map((d) => d.embedding)).toEqual([embeddingVector(0), embeddingVector(1)]);
    expect(body.data[0]!.embedding).toHaveLength(EMBEDDING_DIMENSIONS);
    expect(body.usage.prompt_tokens).toBe(2 * EMBEDDING_TOKENS_PER_INPUT);
  });

  it('returns base64 float32 embeddings when asked (the openai client default)', async () => {
    const body = (await (
      await post('/embeddings', { model: 'e', input: 'a', encoding_format: 'base64' })
    ).json()) as {
      data: Array<{ embedding: string }>;
    };
    const bytes = Buffer.from(body.data[0]!.embedding, 'base64');
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)]).toEqual(
      embeddingVector(0),
    );
  });

  it.each([
    ['error-429', 429, ERROR_429_MESSAGE],
    ['error-500', 500, ERROR_500_MESSAGE],
  ])('answers model %s with status %i and an OpenAI error body', async (model, status, message) => {
    const response = await post('/chat/completions', { model, messages: question });
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { message } });
  });

  it('answers the x-fake-error header with that error, whatever the model', async () => {
    const response = await post('/embeddings', { model: 'e', input: 'a' }, { 'x-fake-error': '429' });
    expect(response.status).toBe(429);
  });

  it('records each request with its path and parsed body', async () => {
    const before = server.requests.length;
    await chat({ messages: question, user: 'u-1' });
    expect(server.requests.slice(before)).toMatchObject([
      { method: 'POST', path: '/v1/chat/completions', body: { messages: question, user: 'u-1' } },
    ]);
  });
});

describe('the small PNG', () => {
  it('is a real PNG whose header says 4 x 3', () => {
    expect(SMALL_PNG.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(SMALL_PNG.readUInt32BE(16)).toBe(SMALL_PNG_WIDTH);
    expect(SMALL_PNG.readUInt32BE(20)).toBe(SMALL_PNG_HEIGHT);
  });
});
