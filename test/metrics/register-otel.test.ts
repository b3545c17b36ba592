/**
 * `LLAMONITOR_METRICS=otel` with the register entry: the application registers
 * its own global MeterProvider after start, and the metrics of its calls are
 * recorded there under the package's scope (the contrib OpenAI
 * instrumentation, which took its meter at start, records none there).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModulePath } from '../support/built-package.js';
import { runNode } from '../support/child-process.js';
import { CHAT_ANSWER, startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';

interface Point {
  readonly attributes: Record<string, unknown>;
  readonly value: number | { count: number; sum: number };
}

let server: FakeLlmServer;
beforeAll(async () => {
  builtModulePath('register.js');
  server = await startFakeLlmServer();
});
const DATA = `/tmp/llamonitor-register-otel-${process.pid}`;
afterAll(async () => {
  await server?.close();
  rmSync(DATA, { recursive: true, force: true });
  rmSync(`${DATA}-spill`, { recursive: true, force: true });
});

describe('the register entry with LLAMONITOR_METRICS=otel', () => {
  it("records every call on the application's global MeterProvider, registered after start, under scope llamonitor-otel", async () => {
    const run = await runNode(
      [
        '--import',
        'llamonitor-otel/register',
        '--import',
        './examples/setups/instrumentation.mjs',
        'test/metrics/apps/otel-app.mjs',
      ],
      {
        LLAMONITOR_URL: DATA,
        LLAMONITOR_SPILL_DIR: `${DATA}-spill`,
        LLAMONITOR_METRICS: 'otel',
        OPENAI_BASE_URL: server.baseURL,
        OPENAI_API_KEY: 'sk-fake-llamonitor-test',
        APP_CALLS: '2',
      },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const collected = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, Point[]>;
    const ours = collected['llamonitor-otel gen_ai.client.operation.duration']!;
    expect(
      ours.map((point) => [
        point.attributes['gen_ai.request.model'],
        (point.value as { count: number }).count,
      ]),
    ).toEqual([['gpt-4o-mini', 2]]);
    const tokens = collected['llamonitor-otel gen_ai.client.token.usage']!;
    const input = tokens.find((point) => point.attributes['gen_ai.token.type'] === 'input')!;
    expect((input.value as { sum: number }).sum).toBe(2 * CHAT_ANSWER.usage.prompt_tokens);
    // The contrib instrumentation took its meter at start, before the provider existed: it records nothing here.
    expect(Object.keys(collected).every((key) => key.startsWith('llamonitor-otel '))).toBe(true);
  });
});
