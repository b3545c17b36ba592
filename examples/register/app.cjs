// The application: nothing in it knows llamonitor-otel. It is started with
//   node --import llamonitor-otel/register --import ./examples/register/instrumentation.mjs examples/register/app.cjs
// and the `openai` client reads OPENAI_BASE_URL and OPENAI_API_KEY from the environment, as usual.
const { context } = require('@opentelemetry/api');
const { setSession } = require('@arizeai/openinference-core');
const { OpenAI } = require('openai');

async function main() {
  const openai = new OpenAI({ maxRetries: 0 });
  // The session of this conversation, through OpenInference's context helper.
  await context.with(setSession(context.active(), { sessionId: 'support-chat-0048' }), async () => {
    for (const question of ['What is the capital of France?', 'And its river?']) {
      const answer = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: question }],
      });
      console.log(`app: ${question} ${JSON.stringify(answer.choices[0].message.content)}`);
    }
  });
  // Nothing to flush by hand: the register entry flushes and shuts down when the process is about to exit.
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
