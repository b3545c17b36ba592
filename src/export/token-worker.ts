/**
 * The token-count worker's entry point: loads a tokenizer the first time a
 * row needs it (o200k_base takes about 0.2 s and 75 MB to build, far
 * too long for the application's event loop) and counts the texts it is sent.
 * Special-token markers in a text (`<|endoftext|>`) are counted as the plain
 * text they are in a prompt, never refused.
 */
import { parentPort } from 'node:worker_threads';
import type { TokenizerName } from '../mapping/token-estimate.js';
import type { CountReply, CountRequest } from './token-estimator.js';

type Counter = (text: string) => number;

const PLAIN_TEXT = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
const counters = new Map<TokenizerName, Promise<Counter>>();

function counterOf(name: TokenizerName): Promise<Counter> {
  let counter = counters.get(name);
  if (counter === undefined) {
    counter = load(name).then(
      ({ countTokens }) =>
        (text: string) =>
          countTokens(text, PLAIN_TEXT),
    );
    counters.set(name, counter);
  }
  return counter;
}

function load(name: TokenizerName) {
  switch (name) {
    case 'o200k_base':
      return import('gpt-tokenizer/encoding/o200k_base');
    case 'cl100k_base':
      return import('gpt-tokenizer/encoding/cl100k_base');
  }
}

async function count(request: CountRequest): Promise<CountReply> {
  const counts: [number | null, number | null][] = [];
  for (const item of request.items) {
    const counter = await counterOf(item.tokenizer);
    counts.push([countOrNull(counter, item.input), countOrNull(counter, item.output)]);
  }
  return { id: request.id, counts };
}

function countOrNull(counter: Counter, text: string | undefined): number | null {
  if (text === undefined) return null;
  try {
    return counter(text);
  } catch {
    return null; // one text the tokenizer cannot take leaves its row unestimated, not the batch
  }
}

parentPort?.on('message', (request: CountRequest) => {
  count(request).then(
    (reply) => parentPort?.postMessage(reply),
    (error: unknown) =>
      parentPort?.postMessage({ id: request.id, error: String(error) } satisfies CountReply),
  );
});
