// The application the sink examples share: a support bot on the Vercel AI SDK 6, with telemetry on, that
// answers two questions of one session and looks at a screenshot. The sink examples differ only in
// where the rows go and how they are queried.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import { FAKE_API_KEY } from './fake-llm-server.mjs';
import { solidPng } from './png.mjs';

export const SESSION_ID = 'support-chat-0049';

export async function runSupportBot(server) {
  const openai = createOpenAI({ baseURL: server.baseURL, apiKey: FAKE_API_KEY });
  const telemetry = { isEnabled: true, functionId: 'support-bot', metadata: { sessionId: SESSION_ID } };
  for (const question of ['My order #1234 has not arrived.', 'Can I change the address?']) {
    await generateText({
      model: openai.chat('gpt-4o-mini'),
      prompt: question,
      maxRetries: 0,
      experimental_telemetry: telemetry,
    });
  }
  await generateText({
    model: openai.chat('gpt-4o-mini'),
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Here is the screenshot of the error.' },
          { type: 'image', image: solidPng(800, 600), mediaType: 'image/png' },
        ],
      },
    ],
    maxRetries: 0,
    experimental_telemetry: telemetry,
  });
}
