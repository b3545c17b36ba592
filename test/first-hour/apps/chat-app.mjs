// An ES module application as a user writes it: `import OpenAI from 'openai'`, nothing of llamonitor-otel
// or OpenTelemetry. It makes APP_CALLS chat calls (OPENAI_BASE_URL: the fake server), prints how many
// ended, then ends, or with APP_STAY=1 waits to be ended by a signal.
import OpenAI from 'openai';

const openai = new OpenAI({ maxRetries: 0 });
const calls = Number(process.env.APP_CALLS ?? 3);
for (let i = 0; i < calls; i++) {
  await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: `What is the capital of France? (${i + 1})` }],
  });
}
console.log(`calls ended: ${calls}`);
if (process.env.APP_STAY === '1') setInterval(() => {}, 60_000); // a server, until Ctrl-C or kill
