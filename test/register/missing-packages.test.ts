/**
 * The register entry in an application that lacks an OpenTelemetry package it
 * needs: it says which, and the command that installs it, and exits 1, where
 * Node alone printed a bare ERR_MODULE_NOT_FOUND with a stack.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from '../support/child-process.js';
import { builtModulePath } from '../support/built-package.js';
import { makeAppFolder, type AppFolder } from '../first-hour/app-folder.js';

let app: AppFolder | undefined;
beforeAll(() => void builtModulePath('register.js')); // the folder gets a copy of dist/: refuse a stale one
afterEach(() => app?.remove());

function runRegisterIn(folder: AppFolder, flag: '--import' | '--require') {
  const file = flag === '--import' ? 'app.mjs' : 'app.cjs';
  writeFileSync(join(folder.path, file), "console.log('the application ran');\n");
  return runNode([flag, 'llamonitor-otel/register', file], {}, 30_000, folder.path);
}

describe('llamonitor-otel/register without the packages it needs', () => {
  it.each(['--import', '--require'] as const)(
    'names @opentelemetry/sdk-trace-node and how to install it, and exits 1 (%s)',
    async (flag) => {
      app = makeAppFolder({ without: ['@opentelemetry/sdk-trace-node'] });
      const run = await runRegisterIn(app, flag);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        'llamonitor-otel: llamonitor-otel/register needs @opentelemetry/sdk-trace-node, which is not installed. ' +
          'Install it in your application: npm install @opentelemetry/sdk-trace-node\n',
      );
    },
  );

  it('names every package missing in one install command', async () => {
    app = makeAppFolder({ without: ['@opentelemetry/sdk-trace-node', '@opentelemetry/resources'] });
    const run = await runRegisterIn(app, '--import');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'needs @opentelemetry/sdk-trace-node and @opentelemetry/resources, which are not installed. ' +
        'Install them in your application: npm install @opentelemetry/sdk-trace-node @opentelemetry/resources',
    );
    expect(run.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
  });

  it('with LLAMONITOR_METRICS=prometheus and no @opentelemetry/exporter-prometheus: names it and how to install it, and exits 1', async () => {
    app = makeAppFolder({ without: ['@opentelemetry/exporter-prometheus'] });
    writeFileSync(join(app.path, 'app.mjs'), "console.log('the application ran');\n");
    const run = await runNode(
      ['--import', 'llamonitor-otel/register', 'app.mjs'],
      { LLAMONITOR_METRICS: 'prometheus' },
      30_000,
      app.path,
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      "llamonitor-otel: metrics 'prometheus' needs @opentelemetry/exporter-prometheus, which is not installed. " +
        'Install it in your application: npm install @opentelemetry/exporter-prometheus\n',
    );
  });

  it('runs the application when they are all installed (the folder is a working application)', async () => {
    app = makeAppFolder();
    const run = await runRegisterIn(app, '--import');
    expect(run.stdout).toBe('the application ran\n');
    expect(run.stderr).toMatch(/^llamonitor-otel: no span reached MetricEventsSpanProcessor before shutdown/);
    expect(run.code).toBe(0);
  });
});
