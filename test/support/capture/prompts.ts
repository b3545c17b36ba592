/** The inputs every capture sends, so that tests can find them again in the spans. */
export const CHAT_MODEL = 'gpt-4o-mini';
export const EMBEDDING_MODEL = 'text-embedding-3-small';
export const SYSTEM_PROMPT = 'You answer in two short lines.';
export const CHAT_QUESTION = 'What is the capital of France?';
export const IMAGE_QUESTION = 'What is in this image?';
export const WEATHER_QUESTION = 'What is the weather in Paris?';
export const WEATHER_TOOL_DESCRIPTION = 'The current weather in a city.';
export const EMBEDDING_INPUT = 'Paris is the capital of France.';
export const EMBEDDING_INPUTS = ['Paris is the capital of France.', 'Berlin is the capital of Germany.'];
/** The API key the clients send to the fake server. */
export const FAKE_API_KEY = 'sk-fake-llamonitor';
