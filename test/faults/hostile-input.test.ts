/**
 * Property: whatever a span holds, every sink stores its row. Thousands of
 * hostile spans (hostile-spans.ts) go through the exporter into each real
 * sink; no batch is refused (nothing retried, nothing spilled), and the
 * stored event ids are exactly those the mapping gave.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMetricEvent } from '../../src/mapping/to-metric-event.js';
import { importBuilt } from '../support/built-package.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { captureDiag } from '../support/diag-capture.js';
import { queryDataset } from '../support/parquet-readers.js';
import { MYSQL, POSTGRES, tempSpillDir, type Inspector } from './fault-support.js';
import { hostileSpan, hostileSpanShape } from './hostile-spans.js';

// The Parquet sink converts in a worker thread, which runs compiled JavaScript: the built package for every sink.
const { MetricEventsSpanExporter } = await importBuilt<typeof import('../../src/index.js')>('index.js');

const RUNS = Number(process.env.LLAMONITOR_TEST_HOSTILE_RUNS ?? 15);
const SPANS_PER_BATCH = { minLength: 40, maxLength: 160 };

interface Target {
  readonly name: string;
  readonly url: (table: string) => string;
  /** Event ids stored, one per row. */
  readonly stored: (table: string) => Promise<string[]>;
  readonly cleanUp: (table: string) => Promise<void>;
  /**
   * False for Parquet: it stores an event id once per file, not across files (docs/parquet.md,
   * known limits), so spans whose hostile ids collide across batches appear once per batch.
   */
  readonly oncePerTable: boolean;
}

const parquetFolder = mkdtempSync(join(tmpdir(), 'llamonitor-hostile-'));
let postgresInspector: Inspector | undefined;
let mysqlInspector: Inspector | undefined;

const TARGETS: Target[] = [
  ...((await postgresAvailable())
    ? [
        {
          name: 'PostgreSQL (COPY)',
          url: () => POSTGRES_URL,
          stored: (table: string) => postgresInspector!.storedEventIds(table),
          cleanUp: (table: string) => postgresInspector!.dropTable(table),
          oncePerTable: true,
        },
      ]
    : []),
  ...((await mysqlAvailable())
    ? (['load-data', 'insert'] as const).map((path) => ({
        name: `MySQL (${path === 'load-data' ? 'LOAD DATA' : 'INSERT'})`,
        url: () => (path === 'insert' ? `${MYSQL_URL}?local-infile=0` : MYSQL_URL),
        stored: (table: string) => mysqlInspector!.storedEventIds(table),
        cleanUp: (table: string) => mysqlInspector!.dropTable(table),
        oncePerTable: true,
      }))
    : []),
  {
    name: 'Parquet',
    url: () => parquetFolder,
    stored: async (table) =>
      (await queryDataset(join(parquetFolder, table), 'SELECT event_id FROM {dataset}')).map((r) =>
        String(r.event_id),
      ),
    cleanUp: async () => {},
    oncePerTable: false,
  },
];

beforeAll(async () => {
  if (TARGETS.some((t) => t.name.startsWith('PostgreSQL'))) postgresInspector = await POSTGRES.open();
  if (TARGETS.some((t) => t.name.startsWith('MySQL'))) mysqlInspector = await MYSQL.open();
});
afterAll(async () => {
  await postgresInspector?.end();
  await mysqlInspector?.end();
  rmSync(parquetFolder, { recursive: true, force: true });
});

function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe.each(TARGETS)('hostile spans into $name', (target) => {
  it(`stores every span of ${RUNS} batches of hostile spans, refusing no batch`, async () => {
    const table = uniqueName('hostile');
    const spill = await tempSpillDir();
    const logs = captureDiag();
    const exporter = new MetricEventsSpanExporter({
      url: target.url(table),
      table,
      spans: 'all',
      captureContent: true,
      spillDir: spill.dir,
      exportTimeoutMillis: 20_000,
    });
    const expected = new Set<string>();
    /** Rows expected: one per event id, or (Parquet) one per event id and batch. */
    let expectedRows = 0;
    let spans = 0;
    try {
      const outcome = await fc.check(
        fc.asyncProperty(fc.array(hostileSpanShape, SPANS_PER_BATCH), async (shapes) => {
          const batch = shapes.map(hostileSpan);
          const ids = new Set(batch.map((span) => toMetricEvent(span, { spans: 'all' })!.event_id));
          for (const id of ids) {
            if (!target.oncePerTable || !expected.has(id)) expectedRows++;
            expected.add(id);
          }
          spans += batch.length;
          const result = await exportOnce(exporter, batch);
          expect(result.error?.message).toBeUndefined();
          expect(result.code).toBe(ExportResultCode.SUCCESS);
          const refused = logs.logs.filter((l) => l.level === 'warn' || l.level === 'error');
          if (refused.length > 0) {
            throw new Error(
              `the sink refused a batch:\n${refused.map((l) => l.message.slice(0, 1_500)).join('\n')}`,
            );
          }
          expect(await spill.files()).toEqual([]);
          await exporter.forceFlush();
          const stored = await target.stored(table);
          expect(stored.length).toBe(expectedRows);
          expect(new Set(stored)).toEqual(expected);
        }),
        // No shrinking: each step would export again, and the failure's message says what went wrong.
        { numRuns: RUNS, endOnFailure: true },
      );
      // fast-check's own report prints the whole counterexample, megabytes of hostile text: say less.
      if (outcome.failed) {
        const error = outcome.errorInstance as Error | undefined;
        throw new Error(
          `batch ${outcome.numRuns} of hostile spans failed (fast-check seed ${outcome.seed}, path ${outcome.counterexamplePath}): ` +
            (error?.message ?? String(error)).slice(0, 4_000),
        );
      }
      expect(spans).toBeGreaterThan(RUNS * SPANS_PER_BATCH.minLength);
    } finally {
      logs.stop();
      await exporter.shutdown();
      await target.cleanUp(table);
      await spill.remove();
    }
  });
});
