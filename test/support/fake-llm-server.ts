/**
 * An OpenAI-compatible LLM server on 127.0.0.1 for tests and examples: chat
 * completions (plain, streamed as SSE, with image input, with tool calls),
 * embeddings, and 429 / 500 errors on demand. Its answers are fixed, so a test
 * can compare what an instrumentation recorded with the texts and token counts
 * exported here. It records every request it receives.
 *
 * Which answer a chat request gets:
 * - model `error-429` / `error-500`, or header `x-fake-error: 429|500`: that error;
 * - tools offered and the last message is not a tool result: a call of the first tool;
 * - the last message is a tool result: TOOL_ANSWER;
 * - an `image_url` part in any message: IMAGE_ANSWER;
 * - otherwise: CHAT_ANSWER.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number; readonly audio_tokens: number };
  readonly completion_tokens_details: {
    readonly reasoning_tokens: number;
    readonly audio_tokens: number;
    readonly accepted_prediction_tokens: number;
    readonly rejected_prediction_tokens: number;
  };
}

export interface FakeToolCall {
  readonly id: string;
  readonly name: string;
  /** JSON text, as the API sends it. */
  readonly arguments: string;
}

export interface FakeChatAnswer {
  readonly text: string | null;
  readonly toolCalls: readonly FakeToolCall[];
  readonly finishReason: 'stop' | 'tool_calls' | 'length';
  readonly usage: FakeUsage;
}

function usage(prompt: number, completion: number, cached: number, reasoning: number): FakeUsage {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** The plain answer: two lines, so that line counts differ from 1. */
export const CHAT_ANSWER: FakeChatAnswer = {
  text: 'Paris is the capital of France.\nIt lies on the Seine.',
  toolCalls: [],
  finishReason: 'stop',
  usage: usage(23, 14, 8, 3),
};

/** Output tokens a request may ask for at most and still get the whole plain answer. */
export const LENGTH_LIMIT_TOKENS = CHAT_ANSWER.usage.completion_tokens;

/**
 * The plain answer cut by a request's token limit below LENGTH_LIMIT_TOKENS: its first
 * `maxTokens` words (a word a token here), finish reason `length`, as OpenAI answers it.
 */
export function lengthCutAnswer(maxTokens: number): FakeChatAnswer {
  const words = (CHAT_ANSWER.text ?? '').split(/\s+/).slice(0, maxTokens).join(' ');
  return { text: words, toolCalls: [], finishReason: 'length', usage: usage(23, maxTokens, 8, 0) };
}

export const IMAGE_ANSWER: FakeChatAnswer = {
  text: 'A small red rectangle.',
  toolCalls: [],
  finishReason: 'stop',
  usage: usage(112, 6, 0, 0),
};

/** The tool every tool scenario offers, and the call the server makes of it. */
export const WEATHER_TOOL_NAME = 'get_weather';
export const WEATHER_TOOL_ARGUMENTS = { city: 'Paris' } as const;
export const WEATHER_TOOL_RESULT = { city: 'Paris', forecast: 'sunny', celsius: 21 } as const;

export const TOOL_CALL_ANSWER: FakeChatAnswer = {
  text: null,
  toolCalls: [
    { id: 'call_fake_0001', name: WEATHER_TOOL_NAME, arguments: JSON.stringify(WEATHER_TOOL_ARGUMENTS) },
  ],
  finishReason: 'tool_calls',
  usage: usage(61, 17, 0, 0),
};

export const TOOL_ANSWER: FakeChatAnswer = {
  text: 'It is sunny in Paris, 21 °C.',
  toolCalls: [],
  finishReason: 'stop',
  usage: usage(94, 12, 0, 0),
};

export const EMBEDDING_DIMENSIONS = 8;
/** Prompt tokens the server reports for each input of an embeddings request. */
export const EMBEDDING_TOKENS_PER_INPUT = 5;

/** The vector the server returns for input number `index` (deterministic). */
export function embeddingVector(index: number, dimensions = EMBEDDING_DIMENSIONS): number[] {
  return Array.from({ length: dimensions }, (_, i) => Math.fround(((index + 1) * (i + 1)) / 64));
}

export const ERROR_429_MESSAGE = 'Rate limit reached for requests (fake server).';
export const ERROR_500_MESSAGE = 'The server had an error while processing your request (fake server).';

/** Real OpenAI answers `gpt-4o-mini` with a dated model name; so does the fake. */
export function responseModelFor(requestModel: string): string {
  return `${requestModel}-2024-07-18`;
}

/** Seconds since the epoch the server puts in `created`: 2026-01-01T00:00:00Z. */
export const CREATED = 1767225600;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The JSON body, parsed; undefined when there was none. */
  readonly body: unknown;
}

export interface FakeLlmServer {
  /** Base URL for OpenAI clients, ending in `/v1`. */
  readonly baseURL: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

type JsonRecord = Record<string, unknown>;

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messagesOf(body: JsonRecord): JsonRecord[] {
  return Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
}

function hasImagePart(message: JsonRecord): boolean {
  return Array.isArray(message.content) && message.content.some((p) => isRecord(p) && p.type === 'image_url');
}

export function chooseChatAnswer(body: JsonRecord): FakeChatAnswer {
  const messages = messagesOf(body);
  const last = messages.at(-1);
  if (last?.role === 'tool') return TOOL_ANSWER;
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  if (tools.length > 0) {
    const name = (isRecord(tools[0]?.function) && tools[0].function.name) || WEATHER_TOOL_NAME;
    const call = TOOL_CALL_ANSWER.toolCalls[0]!;
    return { ...TOOL_CALL_ANSWER, toolCalls: [{ ...call, name: String(name) }] };
  }
  if (messages.some(hasImagePart)) return IMAGE_ANSWER;
  const limit = body.max_completion_tokens ?? body.max_tokens;
  if (typeof limit === 'number' && limit >= 1 && limit < LENGTH_LIMIT_TOKENS) return lengthCutAnswer(limit);
  return CHAT_ANSWER;
}

function requestedError(body: JsonRecord, headers: IncomingHttpHeaders): 429 | 500 | undefined {
  const wanted = String(headers['x-fake-error'] ?? body.model ?? '');
  if (wanted === '429' || wanted === 'error-429') return 429;
  if (wanted === '500' || wanted === 'error-500') return 500;
  return undefined;
}

function sendJson(res: ServerResponse, status: number, value: unknown, requestId: string): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-request-id': requestId,
    'openai-processing-ms': '1',
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: 429 | 500, requestId: string): void {
  const error =
    status === 429
      ? { message: ERROR_429_MESSAGE, type: 'requests', param: null, code: 'rate_limit_exceeded' }
      : { message: ERROR_500_MESSAGE, type: 'server_error', param: null, code: null };
  sendJson(res, status, { error }, requestId);
}

function messageOf(answer: FakeChatAnswer): JsonRecord {
  return {
    role: 'assistant',
    content: answer.text,
    refusal: null,
    annotations: [],
    ...(answer.toolCalls.length > 0
      ? {
          tool_calls: answer.toolCalls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.arguments },
          })),
        }
      : {}),
  };
}

function completion(id: string, model: string, answer: FakeChatAnswer): JsonRecord {
  return {
    id,
    object: 'chat.completion',
    created: CREATED,
    model: responseModelFor(model),
    choices: [{ index: 0, message: messageOf(answer), logprobs: null, finish_reason: answer.finishReason }],
    usage: answer.usage,
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
}

/** The answer cut into SSE chunks the way OpenAI streams it. */
function completionChunks(
  id: string,
  model: string,
  answer: FakeChatAnswer,
  withUsage: boolean,
): JsonRecord[] {
  const base = {
    id,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: responseModelFor(model),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
    ...(withUsage ? { usage: null } : {}),
  };
  const choice = (delta: JsonRecord, finishReason: string | null = null): JsonRecord => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const chunks: JsonRecord[] = [choice({ role: 'assistant', content: '', refusal: null })];
  for (const piece of (answer.text ?? '').match(/\S+\s*/g) ?? []) chunks.push(choice({ content: piece }));
  answer.toolCalls.forEach((call, index) => {
    chunks.push(
      choice({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    );
    const half = Math.ceil(call.arguments.length / 2);
    for (const part of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      chunks.push(choice({ tool_calls: [{ index, function: { arguments: part } }] }));
    }
  });
  chunks.push(choice({}, answer.finishReason));
  if (withUsage) chunks.push({ ...base, choices: [], usage: answer.usage });
  return chunks;
}

function streamCompletion(res: ServerResponse, chunks: readonly JsonRecord[], requestId: string): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-request-id': requestId,
  });
  for (const chunk of chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  res.end('data: [DONE]\n\n');
}

function embeddingInputs(input: unknown): unknown[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && typeof input[0] === 'number') return [input]; // one token array
  return Array.isArray(input) ? input : [input];
}

function embeddings(body: JsonRecord): JsonRecord {
  const inputs = embeddingInputs(body.input);
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : EMBEDDING_DIMENSIONS;
  const base64 = body.encoding_format === 'base64';
  const tokens = inputs.length * EMBEDDING_TOKENS_PER_INPUT;
  return {
    object: 'list',
    data: inputs.map((_, index) => {
      const vector = embeddingVector(index, dimensions);
      return {
        object: 'embedding',
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
      };
    }),
    model: String(body.model),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** Starts the server on 127.0.0.1 at an ephemeral port. */
export async function startFakeLlmServer(): Promise<FakeLlmServer> {
  const requests: RecordedRequest[] = [];
  let counter = 0;

  const server = createServer((req, res) => {
    void (async () => {
      const n = String(++counter).padStart(4, '0');
      const requestId = `req_fake_${n}`;
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      let body: unknown;
      try {
        body = await readBody(req);
      } catch {
        sendJson(
          res,
          400,
          { error: { message: 'body is not JSON', type: 'invalid_request_error' } },
          requestId,
        );
        return;
      }
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      const json = isRecord(body) ? body : {};
      const error = requestedError(json, req.headers);
      if (req.method !== 'POST') {
        sendJson(
          res,
          404,
          { error: { message: `no route ${path}`, type: 'invalid_request_error' } },
          requestId,
        );
      } else if (error !== undefined) {
        sendError(res, error, requestId);
      } else if (path.endsWith('/chat/completions')) {
        const answer = chooseChatAnswer(json);
        const model = String(json.model);
        const id = `chatcmpl-fake-${n}`;
        if (json.stream === true) {
          const withUsage = isRecord(json.stream_options) && json.stream_options.include_usage === true;
          streamCompletion(res, completionChunks(id, model, answer, withUsage), requestId);
        } else {
          sendJson(res, 200, completion(id, model, answer), requestId);
        }
      } else if (path.endsWith('/embeddings')) {
        sendJson(res, 200, embeddings(json), requestId);
      } else {
        sendJson(
          res,
          404,
          { error: { message: `no route ${path}`, type: 'invalid_request_error' } },
          requestId,
        );
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
