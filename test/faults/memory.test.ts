/**
 * Bounded memory: under a long outage, with exports arriving faster than
 * they can be written, the process's memory stays flat. Rows held by writes
 * in flight stop at maxInflightBytes (later batches go straight to the
 * spill), and the spill folder stops at spillMaxBytes. Measured in a child
 * process after full garbage collections (node --expose-gc).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runNode } from '../support/child-process.js';
import { POSTGRES_URL, postgresAvailable } from '../support/databases.js';

const CHILD = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const MiB = 1024 * 1024;

interface Sample {
  readonly heapUsed: number;
  readonly rss: number;
}

interface Report {
  readonly before: Sample[];
  readonly samples: Sample[];
  readonly ended: number;
  readonly spillBytes: number;
  readonly maxInflightBytes: number;
  readonly spillMaxBytes: number;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const max = (values: number[]) => Math.max(...values);

describe.runIf(await postgresAvailable())('memory under a long outage', () => {
  const spillDir = mkdtempSync(join(tmpdir(), 'llamonitor-memory-'));
  afterAll(() => rmSync(spillDir, { recursive: true, force: true }));

  it('stays flat for 20 s of a silent database under 1,000 spans a second: growth below maxInflightBytes plus a margin', async () => {
    const run = await runNode(
      ['--expose-gc', '--import', 'tsx', CHILD, POSTGRES_URL, spillDir, '20', 'blackhole'],
      {},
      90_000,
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    const heapBefore = median(report.before.map((s) => s.heapUsed));
    const rssBefore = median(report.before.map((s) => s.rss));
    const heapGrowth = max(report.samples.map((s) => s.heapUsed)) - heapBefore;
    const rssGrowth = max(report.samples.map((s) => s.rss)) - rssBefore;
    // Flat: the second half of the outage holds no more than the first.
    const half = report.samples.length / 2;
    const creep =
      max(report.samples.slice(half).map((s) => s.heapUsed)) -
      max(report.samples.slice(0, half).map((s) => s.heapUsed));
    console.info(
      `${report.ended} spans; heap ${(heapBefore / MiB).toFixed(1)} MiB before, +${(heapGrowth / MiB).toFixed(1)} MiB at most ` +
        `during the outage (cap ${report.maxInflightBytes / MiB} MiB), creep ${(creep / MiB).toFixed(2)} MiB; ` +
        `RSS +${(rssGrowth / MiB).toFixed(1)} MiB; spill ${(report.spillBytes / MiB).toFixed(1)} MiB (cap ${report.spillMaxBytes / MiB} MiB)`,
    );
    expect(report.ended).toBeGreaterThan(15_000);
    expect(heapGrowth).toBeLessThan(report.maxInflightBytes + 4 * MiB);
    expect(creep).toBeLessThan(1.5 * MiB);
    expect(rssGrowth).toBeLessThan(report.maxInflightBytes + 48 * MiB);
    expect(report.spillBytes).toBeLessThanOrEqual(report.spillMaxBytes);
  });
});
