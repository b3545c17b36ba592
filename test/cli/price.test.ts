/** `llamonitor price`: what a model name resolves to, its rates and their source, through the built CLI. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calcPrice } from '@pydantic/genai-prices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/child-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-price-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('llamonitor price', () => {
  it('shows the bundled rates a dated snapshot resolves to, and their source', async () => {
    const run = await runCli([
      'price',
      'gpt-4o-mini-2024-07-18',
      '--provider',
      'openai',
      '--date',
      '2026-06-01',
    ]);
    expect(run.code).toBe(0);
    const rates = calcPrice({}, 'gpt-4o-mini', { providerId: 'openai' })!.model_price;
    expect(run.stdout).toContain('priced as  openai:gpt-4o-mini\n');
    expect(run.stdout).toMatch(/^source {5}@pydantic\/genai-prices@\d+\.\d+\.\d+$/m);
    expect(run.stdout).toContain('in force   on 2026-06-01');
    expect(run.stdout).toMatch(
      new RegExp(`^rates +input_mtok +\\$${rates['input_mtok']} per million tokens$`, 'm'),
    );
    expect(run.stdout).toMatch(
      new RegExp(`^ +output_mtok +\\$${rates['output_mtok']} per million tokens$`, 'm'),
    );
  });

  it('shows a custom price over the bundled one, with the day it starts', async () => {
    const file = join(dir, 'prices.json');
    await writeFile(
      file,
      JSON.stringify({
        models: [{ match: 'gpt-4o-mini', from: '2026-05-01', prices: { input_mtok: 0.1, output_mtok: 0.4 } }],
      }),
    );
    const run = await runCli(['price', 'gpt-4o-mini', '--date', '2026-06-01'], { LLAMONITOR_PRICES: file });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`source     custom:${file}\n`);
    expect(run.stdout).toContain('in force   on 2026-06-01, since 2026-05-01\n');
    expect(run.stdout).toMatch(/^rates +input_mtok +\$0\.1 per million tokens$/m);
    const before = await runCli(['price', 'gpt-4o-mini', '--date', '2026-04-30', '--prices', file]);
    expect(before.stdout).toMatch(/^source {5}@pydantic\/genai-prices@/m);
  });

  it('says when there is no price, what the rows then hold and what to do, with exit code 1', async () => {
    const run = await runCli(['price', 'llama3', '--provider', 'ollama', '--date', '2026-06-01']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '[fail] no price for llama3 (provider ollama) on 2026-06-01: rows of its calls get cost_usd NULL (cost_source unknown_model)',
    );
    expect(run.stdout).toContain('LLAMONITOR_PRICES');
  });

  it('refuses, with exit code 2, a missing model, a bad date and a second argument', async () => {
    expect(await runCli(['price'])).toMatchObject({
      code: 2,
      stdout: 'llamonitor price needs <model>: llamonitor price <model> [options]\n',
    });
    expect(await runCli(['price', 'gpt-4o', '--date', 'yesterday'])).toMatchObject({
      code: 2,
      stdout: 'llamonitor price: --date yesterday is not a day (YYYY-MM-DD) or an ISO 8601 time\n',
    });
    expect((await runCli(['price', 'gpt-4o', 'gpt-4o-mini'])).code).toBe(2);
  });

  it('stops on a custom price file that is not valid, naming its line and field', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      '{\n  "models": [\n    { "match": "m", "prices": { "input_mtok": "cheap" } }\n  ]\n}\n',
    );
    const run = await runCli(['price', 'm'], { LLAMONITOR_PRICES: file });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `[fail] configuration: LLAMONITOR_PRICES: ${file} line 3, models[0].prices.input_mtok must be`,
    );
  });

  it('lists its argument, its own flags and the prices option in its help', async () => {
    const run = await runCli(['price', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: llamonitor price <model> [options]');
    expect([...run.stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1])).toEqual([
      '--prices',
      '--provider',
      '--date',
      '--help',
      '--version',
    ]);
  });
});
