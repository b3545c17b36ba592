/** `llamonitor stats` and `llamonitor reprice` through the built CLI, on rows an application stored as Parquet. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type MetricEvent } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { importBuilt } from '../support/built-package.js';
import { runCli } from '../support/child-process.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');

let dir: string;
const env = () => ({ LLAMONITOR_URL: join(dir, 'data'), LLAMONITOR_SPILL_DIR: join(dir, 'spill') });

function call(n: number, model: string, input: number, output: number, durationMs: number): MetricEvent {
  const hex = n.toString(16).padStart(12, '0');
  return fitRow({
    event_id: `00000000-0000-5000-8000-${hex}`,
    schema_version: SCHEMA_VERSION,
    session_id: `session-${n}`,
    trace_id: hex.padStart(32, '0'),
    span_id: hex.padStart(16, '0'),
    parent_span_id: null,
    operation_name: `chat ${model}`,
    operation_type: 'llm_call',
    timestamp: new Date(Date.now() - 3_600_000).toISOString().replace('Z', '000Z'),
    duration_ms: durationMs,
    model,
    provider: 'openai',
    input_tokens: input,
    output_tokens: output,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-cost-cli-'));
  const sink = await createSink(resolveOptions({ url: join(dir, 'data') }));
  await sink.write([
    call(1, 'gpt-4o-mini', 1000, 100, 120),
    call(2, 'gpt-4o-mini', 2000, 50, 80),
    call(3, 'house-llm', 10, 10, 40),
  ]);
  await sink.close();
  await writeFile(
    join(dir, 'prices.json'),
    JSON.stringify({
      models: [
        { match: 'gpt-4o-mini', prices: { input_mtok: 1, output_mtok: 4 } },
        { match: 'house-llm', prices: { input_mtok: 0, output_mtok: 0 } },
      ],
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('llamonitor reprice and stats', () => {
  it('stats, before any reprice: rows stored without a cost show no cost and no unpriced model', async () => {
    const run = await runCli(['stats', '--since', '1d', '--json'], env());
    expect(run.code, run.stdout).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      groups: { group: string; calls: number; costUsd: number | null }[];
    };
    expect(summary.groups.map((g) => [g.group, g.calls, g.costUsd])).toEqual([
      ['gpt-4o-mini', 2, null],
      ['house-llm', 1, null],
    ]);
  });

  it('reprice --dry-run tells what would change and writes nothing; reprice writes it; a second run changes nothing', async () => {
    const expected = (1000 * 1 + 100 * 4 + 2000 * 1 + 50 * 4) / 1e6;
    const dry = await runCli(
      ['reprice', '--since', '1d', '--prices', join(dir, 'prices.json'), '--dry-run'],
      env(),
    );
    expect(dry.code, dry.stdout).toBe(0);
    expect(dry.stdout).toMatch(
      new RegExp(
        `^\\[ok\\] {3}would re-price 3 of 3 rows of parquet .+: total change \\+\\$${expected.toFixed(9)} \\(dry run: nothing written\\)$`,
        'm',
      ),
    );
    const run = await runCli(['reprice', '--since', '1d', '--prices', join(dir, 'prices.json')], env());
    expect(run.stdout).toMatch(
      new RegExp(`re-priced 3 of 3 rows .+: total change \\+\\$${expected.toFixed(9)}$`, 'm'),
    );
    const again = await runCli(['reprice', '--since', '1d'], {
      ...env(),
      LLAMONITOR_PRICES: join(dir, 'prices.json'),
    });
    expect(again.stdout).toMatch(/re-priced 0 of 3 rows .+: total change \+\$0\.000000000$/m);
  });

  it('stats prints the cost per model, then says no model lacks a price', async () => {
    const run = await runCli(['stats', '--since', '1d'], env());
    expect(run.code, run.stdout).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[1]).toMatch(
      /^model +calls +errors +error % +input tokens +output tokens +cache read +cost \(USD\) +unpriced +p50 ms +p95 ms$/,
    );
    expect(lines[2]).toMatch(/^gpt-4o-mini +2 +0 +0\.0% +3000 +150 +0 +0\.003600 +0 +100\.0 +118\.0$/);
    expect(lines[3]).toMatch(/^house-llm +1 +0 +0\.0% +10 +10 +0 +0\.000000 +0 +40\.0 +40\.0$/);
    expect(lines[4]).toMatch(/^total +3 +0 +0\.0% +3010 +160 +0 +0\.003600 +0 +- +-$/);
    expect(lines[5]).toBe('models without a price: none');
  });

  it('stats with the bundled prices only lists the model it cannot price, for the custom price file', async () => {
    await runCli(['reprice', '--since', '1d'], env());
    const run = await runCli(['stats', '--since', '1d', '--by', 'model'], env());
    expect(run.stdout).toContain(
      'models without a price (cost_usd NULL; add them to a custom price file, LLAMONITOR_PRICES):\n  house-llm  1 call\n',
    );
  });

  it('refuses, with exit code 2, a missing or bad --since and an unknown --by', async () => {
    expect(await runCli(['stats'], env())).toMatchObject({
      code: 2,
      stdout: 'llamonitor stats needs --since (7d, 12h, 2026-11-01, or an ISO 8601 time)\n',
    });
    expect(await runCli(['reprice', '--since', 'last week'], env())).toMatchObject({
      code: 2,
      stdout:
        'llamonitor reprice: --since last week is not a duration (7d, 12h, 30m) or an ISO 8601 day or time\n',
    });
    expect(await runCli(['stats', '--since', '1d', '--by', 'colour'], env())).toMatchObject({
      code: 2,
      stdout:
        'llamonitor stats: --by colour is not one of model, provider, user, session, service, operation\n',
    });
  });

  it('lists its own flags in each help', async () => {
    const flags = async (command: string) =>
      [...(await runCli([command, '--help'])).stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
    expect(await flags('stats')).toEqual([
      '--url',
      '--table',
      '--schema',
      '--pool-size',
      '--file-mode',
      '--since',
      '--until',
      '--by',
      '--json',
      '--help',
      '--version',
    ]);
    expect(await flags('reprice')).toEqual([
      '--url',
      '--table',
      '--schema',
      '--pool-size',
      '--file-mode',
      '--prices',
      '--since',
      '--until',
      '--model',
      '--dry-run',
      '--help',
      '--version',
    ]);
  });
});
