/**
 * An LLAMONITOR_* variable that no option reads (a typo such as
 * LLAMONITOR_URLL) gets one console warning naming the closest variable the
 * package knows, wherever options are read from the environment: fromEnv, the
 * register entry and the CLI. The known names are the options table's own;
 * names under LLAMONITOR_TEST_ and LLAMONITOR_BENCH_ are the repository's own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPTION_SPECS, resolveOptions } from '../../src/config/options.js';
import { unknownVariables } from '../../src/config/unknown-variables.js';
import { ConsoleWarnings } from '../../src/warnings.js';
import { runCli, runNode } from '../support/child-process.js';

const dir = mkdtempSync(join(tmpdir(), 'llamonitor-unknown-vars-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The lines a ConsoleWarnings of its own printed while options were resolved from `env`. */
function warningsFor(env: Record<string, string>): string[] {
  const lines: string[] = [];
  resolveOptions({}, env, new ConsoleWarnings(true, (line) => lines.push(line), new Set()));
  return lines;
}

describe('unknown LLAMONITOR_* variables', () => {
  it.each([
    ['LLAMONITOR_URLL', 'LLAMONITOR_URL'],
    ['LLAMONITOR_SPIL_DIR', 'LLAMONITOR_SPILL_DIR'],
    ['LLAMONITOR_POOLSIZE', 'LLAMONITOR_POOL_SIZE'],
    ['LLAMONITOR_EXPORT_TIMEOUT', 'LLAMONITOR_EXPORT_TIMEOUT_MS'],
    ['llamonitor_table', 'LLAMONITOR_TABLE'],
  ])('%s is named with the closest known variable, %s', (name, closest) => {
    expect(warningsFor({ [name]: 'x' })).toEqual([
      `llamonitor-otel: ${name} is set, but llamonitor-otel reads no such variable and ignores it: did you mean ${closest}?`,
    ]);
  });

  it('knows every variable of the options table, and nothing else', () => {
    const everyOption = Object.fromEntries(OPTION_SPECS.map((spec) => [spec.env, '']));
    expect(unknownVariables(everyOption, OPTION_SPECS)).toEqual([]);
    expect(unknownVariables({ LLAMONITOR_PRICE: 'p.json' }, OPTION_SPECS)).toEqual([
      { name: 'LLAMONITOR_PRICE', closest: 'LLAMONITOR_PRICES' },
    ]);
  });

  it("leaves the repository's own test and benchmark variables alone, and other programs' variables", () => {
    expect(
      warningsFor({
        LLAMONITOR_TEST_POSTGRES_URL: 'postgres://x@h/d',
        LLAMONITOR_TEST_MYSQL_TLS_CA: '/ca.pem',
        LLAMONITOR_TEST_TLS_PORT: '3407',
        LLAMONITOR_TEST_HOSTILE_RUNS: '3',
        LLAMONITOR_BENCH_MYSQL_URL: 'mysql://x@h/d',
        OTEL_SERVICE_NAME: 'checkout',
        PGSSLMODE: 'disable',
      }),
    ).toEqual([]);
  });

  it('warns about each unknown variable once per process, through diag when console warnings are off', () => {
    const lines: string[] = [];
    const warnings = new ConsoleWarnings(true, (line) => lines.push(line), new Set());
    resolveOptions({}, { LLAMONITOR_URLL: 'a', LLAMONITOR_TABEL: 'b' }, warnings);
    resolveOptions({}, { LLAMONITOR_URLL: 'a' }, warnings);
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).toMatch(
      /LLAMONITOR_TABEL .* did you mean LLAMONITOR_TABLE\?\n.*LLAMONITOR_URLL/,
    );
  });
});

describe('where options are read from the environment', () => {
  const warning =
    /llamonitor-otel: LLAMONITOR_URLL is set, but llamonitor-otel reads no such variable and ignores it: did you mean LLAMONITOR_URL\?\n/;
  const env = () => ({
    LLAMONITOR_URL: join(dir, 'data'),
    LLAMONITOR_SPILL_DIR: join(dir, 'spill'),
    LLAMONITOR_URLL: 'postgres://typo@db/x',
    LLAMONITOR_TEST_ANYTHING: 'ignored',
  });

  it('fromEnv warns once, however many exporters it builds', async () => {
    const script = `
      const { MetricEventsSpanExporter } = await import('llamonitor-otel');
      for (let i = 0; i < 3; i++) await MetricEventsSpanExporter.fromEnv().shutdown();`;
    const run = await runNode(['--input-type=module', '-e', script], env());
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^${warning.source}$`));
  });

  it('the register entry warns, and the application runs on', async () => {
    const run = await runNode(['--import', 'llamonitor-otel/register', 'test/fixtures/apps/llm-app.mjs'], {
      ...env(),
      APP_SPANS: '1',
    });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^${warning.source}$`));
  });

  it('the CLI warns on stderr and keeps its report on stdout', async () => {
    const run = await runCli(['doctor'], env());
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`^${warning.source}$`));
    expect(run.stdout).not.toContain('LLAMONITOR_URLL');
  });

  it('says nothing on the console with LLAMONITOR_WARNINGS=off', async () => {
    const run = await runCli(['doctor'], { ...env(), LLAMONITOR_WARNINGS: 'off' });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
  });
});
