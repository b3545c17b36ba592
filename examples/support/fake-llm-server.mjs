// The fake OpenAI-compatible server of the tests (test/support/fake-llm-server.ts), loaded through tsx
// (a dev dependency) so that the examples run against the very server the conformance tests use:
// chat (plain, streamed, with an image, with tool calls), embeddings, 429 and 500, all on 127.0.0.1.
// No request ever leaves this machine.
import { tsImport } from 'tsx/esm/api';

const fake = await tsImport('../../test/support/fake-llm-server.ts', import.meta.url);

export const {
  startFakeLlmServer,
  CHAT_ANSWER,
  IMAGE_ANSWER,
  ERROR_429_MESSAGE,
  EMBEDDING_TOKENS_PER_INPUT,
} = fake;

/** The API key the examples give their clients: the fake server takes any. */
export const FAKE_API_KEY = 'sk-fake-llamonitor-example';
