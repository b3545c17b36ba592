import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { COLUMNS } from '../../src/schema/columns.js';
import { backoffDelayMillis } from '../../src/export/retry-policy.js';
import { REPO, runNode } from '../support/child-process.js';

describe('the package as users load it', () => {
  it('works through require() from a CommonJS file', async () => {
    const run = await runNode(['test/fixtures/apps/require-package.cjs']);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      exporter: 'function',
      processor: 'function',
      mapping: 'function',
      columns: COLUMNS.length, // the built package's column table, loaded through require()
    });
  });

  it('declares the OpenTelemetry API and SDK as peer dependencies and the drivers as optional ones', async () => {
    const manifest = JSON.parse(await readFile(`${REPO}/package.json`, 'utf8'));
    expect(Object.keys(manifest.peerDependencies)).toEqual(
      expect.arrayContaining([
        '@opentelemetry/api',
        '@opentelemetry/sdk-trace-base',
        'pg',
        'pg-copy-streams',
        'mysql2',
      ]),
    );
    for (const driver of [
      'pg',
      'pg-copy-streams',
      'mysql2',
      '@opentelemetry/sdk-trace-node',
      '@opentelemetry/exporter-prometheus',
    ]) {
      expect(manifest.peerDependenciesMeta[driver]).toEqual({ optional: true });
      expect(manifest.dependencies[driver]).toBeUndefined();
    }
    expect(manifest.dependencies['@opentelemetry/api']).toBeUndefined();
  });

  it('loads no database driver when the Parquet default is used', async () => {
    const run = await runNode(
      [
        '--input-type=module',
        '-e',
        `import { MetricEventsSpanExporter } from 'llamonitor-otel';
       import { createRequire } from 'node:module';
       const exporter = new MetricEventsSpanExporter({ url: process.env.DIR });
       await exporter.ready();
       await exporter.shutdown();
       const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => /node_modules\\/(pg|mysql2|pg-copy-streams)\\//.test(p));
       process.stdout.write(JSON.stringify(loaded));`,
      ],
      { DIR: `/tmp/llamonitor-no-driver-${process.pid}` },
    );
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([]);
  });
});

describe('backoff between retries', () => {
  it('doubles from 100 ms up to 5 s, waiting between half and all of it', () => {
    const lowest = [1, 2, 3, 8, 20].map((attempt) => backoffDelayMillis(attempt, undefined, () => 0));
    const highest = [1, 2, 3, 8, 20].map((attempt) => backoffDelayMillis(attempt, undefined, () => 1));
    expect(lowest).toEqual([50, 100, 200, 2500, 2500]);
    expect(highest).toEqual([100, 200, 400, 5000, 5000]);
  });
});
