/**
 * `llamonitor stats` and `llamonitor reprice` against each real store: rows
 * written through the package's sinks, summarised and re-priced by the sink's
 * own queries, read back. Expected figures are worked out here from the rows
 * and the prices' own numbers.
 */
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCustomPricesOption } from '../../src/pricing/custom-prices.js';
import { PriceTable } from '../../src/pricing/price-table.js';
import { repriceRow } from '../../src/pricing/reprice-row.js';
import { SCHEMA_VERSION, type JsonObject, type MetricEvent } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';
import { maintenanceLockName } from '../../src/sinks/mysql/maintenance.js';
import type { Sink } from '../../src/sinks/sink.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { importBuilt } from '../support/built-package.js';

// The built package: the Parquet sink converts its files in a worker thread that runs dist/.
const { summaryOf } =
  await importBuilt<typeof import('../../src/sinks/maintenance.js')>('sinks/maintenance.js');
const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');

const HOUR = 3_600_000;
const NOW = Date.now();

/** Prices A (what the rows were first priced with) and B (a later custom file): dollars per million tokens. */
const A = { input_mtok: 1, output_mtok: 2 };
const B = { input_mtok: 10, output_mtok: 20 };
const tableOf = (rates: typeof A) =>
  new PriceTable(checkCustomPricesOption({ models: [{ match: 'gpt-4o-mini', prices: rates }] }));
const costAt = (rates: typeof A, input: number, output: number) =>
  (input * rates.input_mtok + output * rates.output_mtok) / 1e6;

interface RowSpec {
  readonly name: string;
  readonly model: string | null;
  readonly provider?: string;
  readonly input?: number | null;
  readonly output?: number | null;
  readonly durationMs?: number;
  readonly error?: string;
  readonly hoursAgo?: number;
  readonly operation?: MetricEvent['operation_type'];
  readonly metrics?: JsonObject | null;
  readonly cost?: number | null;
}

let counter = 0;
function row(spec: RowSpec): MetricEvent {
  counter++;
  const hex = counter.toString(16).padStart(12, '0');
  const timestamp = new Date(NOW - (spec.hoursAgo ?? 1) * HOUR).toISOString().replace('Z', '000Z');
  return fitRow({
    event_id: `00000000-0000-5000-8000-${hex}`,
    schema_version: SCHEMA_VERSION,
    session_id: `session-${spec.name}`,
    trace_id: hex.padStart(32, '0'),
    span_id: hex.padStart(16, '0'),
    parent_span_id: null,
    operation_name: spec.name,
    operation_type: spec.operation ?? 'llm_call',
    timestamp,
    duration_ms: spec.durationMs ?? 100,
    text_custom_metrics: spec.metrics ?? null,
    error: spec.error ?? null,
    model: spec.model,
    provider: spec.provider ?? 'openai',
    input_tokens: spec.input ?? null,
    output_tokens: spec.output ?? null,
    total_tokens: spec.input != null && spec.output != null ? spec.input + spec.output : null,
    cost_usd: spec.cost ?? null,
  });
}

/** The rows every store gets: each a case of the summary or of re-pricing. */
function rows() {
  return {
    first: row({ name: 'first', model: 'gpt-4o-mini', input: 1000, output: 200, durationMs: 100 }),
    failed: row({
      name: 'failed',
      model: 'gpt-4o-mini',
      input: 500,
      output: 0,
      durationMs: 200,
      error: 'boom',
    }),
    reported: row({
      name: 'reported',
      model: 'gpt-4o-mini',
      input: 100,
      output: 10,
      durationMs: 150,
      cost: 0.5,
      metrics: { cost_source: 'reported', price_source: 'span:gen_ai.usage.cost' },
    }),
    unknown: row({
      name: 'unknown',
      model: 'acme-llm',
      provider: 'acme',
      input: 100,
      output: 10,
      durationMs: 300,
    }),
    wrapper: row({
      name: 'wrapper',
      model: 'gpt-4o-mini',
      operation: 'agent',
      durationMs: 900,
      metrics: { aggregate_input_tokens: 1500, aggregate_output_tokens: 200 },
    }),
    // The AI SDK's generateText around a call that failed: no usage, so only the aggregate key marks it.
    failedWrapper: row({
      name: 'failed-wrapper',
      model: 'gpt-4o-mini',
      durationMs: 250,
      error: 'boom',
      metrics: { cost_source: 'no_usage', aggregate: true },
    }),
    old: row({ name: 'old', model: 'gpt-4o-mini', input: 7, output: 7, hoursAgo: 72 }),
    tool: row({ name: 'tool', model: null, operation: 'tool_call', durationMs: 5 }),
  };
}

interface Store {
  readonly name: string;
  readonly available: () => Promise<boolean>;
  readonly url: () => Promise<string>;
  /** Linear interpolation (PostgreSQL, DuckDB) or nearest rank (MySQL). */
  readonly percentile: (sorted: readonly number[], p: number) => number;
  /** Takes the table's maintenance lease from elsewhere; returns how to let it go. */
  readonly holdLease: (url: string, table: string) => Promise<() => Promise<void>>;
}

const linear = (sorted: readonly number[], p: number) => {
  const at = (sorted.length - 1) * p;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.min(low + 1, sorted.length - 1)]! - sorted[low]!) * (at - low);
};
const nearestRank = (sorted: readonly number[], p: number) => sorted[Math.ceil(p * sorted.length) - 1]!;

const folders: string[] = [];
afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

const STORES: readonly Store[] = [
  {
    name: 'PostgreSQL',
    available: postgresAvailable,
    url: async () => POSTGRES_URL,
    percentile: linear,
    holdLease: async (url, table) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`llamonitor-maintenance "${table}"`]);
      return async () => client.end();
    },
  },
  {
    name: 'MariaDB',
    available: mysqlAvailable,
    url: async () => MYSQL_URL,
    percentile: nearestRank,
    holdLease: async (url, table) => {
      const connection = await mysql.createConnection({ uri: url });
      const database = new URL(url).pathname.slice(1);
      await connection.query('SELECT GET_LOCK(?, 0)', [maintenanceLockName(database, table)]);
      return async () => connection.end();
    },
  },
  {
    name: 'Parquet',
    available: async () => true,
    url: async () => {
      const folder = await mkdtemp(join(tmpdir(), 'llamonitor-cost-'));
      folders.push(folder);
      return folder;
    },
    percentile: linear,
    holdLease: async (url, table) => {
      const lease = join(url, table, '_maintenance.lease');
      await writeFile(lease, 'another-run');
      return async () => rm(lease, { force: true });
    },
  },
];

for (const store of STORES) {
  const available = await store.available();
  describe.runIf(available)(`${store.name}: stats and reprice`, () => {
    const table = uniqueName('cost');
    const written = rows();
    let url: string;
    let sink: Sink;

    beforeAll(async () => {
      url = await store.url();
      sink = await createSink(resolveOptions({ url, table }));
      await sink.prepare();
      await sink.write(Object.values(written));
      await sink.flush();
    });

    afterAll(async () => {
      await sink?.close();
      if (store.name === 'PostgreSQL') {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`DROP TABLE IF EXISTS "${table}"`);
        await client.end();
      } else if (store.name === 'MariaDB') {
        const connection = await mysql.createConnection({ uri: url });
        await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
        await connection.end();
      }
    });

    const lastDay = () => ({ from: new Date(NOW - 24 * HOUR), to: new Date(NOW + HOUR) });
    const reprice = (prices: PriceTable, dryRun = false) =>
      sink.reprice({ ...lastDay(), dryRun, reprice: (stored) => repriceRow(prices, stored) });
    const stored = async (name: keyof typeof written) => (await sink.readBack([written[name].event_id]))[0]!;

    it('prices the rows of the range, leaves the reported one, and a dry run writes nothing', async () => {
      const dry = await reprice(tableOf(A), true);
      expect(dry).toMatchObject({ examined: 7, repriced: 4, reported: 1 });
      expect((await stored('first')).cost_usd).toBeNull();

      const report = await reprice(tableOf(A));
      expect(report).toMatchObject({ examined: 7, repriced: 4, reported: 1, skipped: [] });
      expect(report.change).toBeCloseTo(costAt(A, 1000, 200) + costAt(A, 500, 0), 12);
      expect((await stored('first')).cost_usd).toBeCloseTo(costAt(A, 1000, 200), 12);
    });

    it('re-prices with new prices: each row from its stored tokens, the wrapper as aggregate_cost_usd; a second run changes nothing', async () => {
      const report = await reprice(tableOf(B));
      expect(report).toMatchObject({ examined: 7, repriced: 3, reported: 1 });
      const first = await stored('first');
      expect(first.cost_usd).toBeCloseTo(costAt(B, 1000, 200), 12);
      expect(first.text_custom_metrics).toMatchObject({
        cost_source: 'computed',
        price_source: 'custom:code',
        cost_input_usd: expect.closeTo(costAt(B, 1000, 0), 12),
        cost_output_usd: expect.closeTo(costAt(B, 0, 200), 12),
      });
      expect((await stored('failed')).cost_usd).toBeCloseTo(costAt(B, 500, 0), 12);
      const wrapper = await stored('wrapper');
      expect(wrapper.cost_usd).toBeNull();
      expect(wrapper.text_custom_metrics?.['aggregate_cost_usd']).toBeCloseTo(costAt(B, 1500, 200), 12);
      expect(await stored('reported')).toMatchObject({ cost_usd: 0.5 });
      expect((await stored('reported')).text_custom_metrics).toEqual({
        cost_source: 'reported',
        price_source: 'span:gen_ai.usage.cost',
      });
      expect(await stored('unknown')).toMatchObject({
        cost_usd: null,
        text_custom_metrics: { cost_source: 'unknown_model' },
      });
      expect(await stored('old')).toMatchObject({ cost_usd: null, text_custom_metrics: null });

      const again = await reprice(tableOf(B));
      expect(again).toMatchObject({ examined: 7, repriced: 0, reported: 1, change: 0 });
    });

    it('summarises the model calls of the range by model: wrappers, tools and older rows left out', async () => {
      const summary = await summaryOf(sink.callQueries(), { ...lastDay(), by: 'model' });
      const durations = [100, 150, 200];
      expect(summary.groups).toEqual([
        {
          group: 'gpt-4o-mini',
          calls: 3,
          errors: 1,
          inputTokens: 1600,
          outputTokens: 210,
          cacheReadTokens: 0,
          costUsd: expect.closeTo(costAt(B, 1000, 200) + costAt(B, 500, 0) + 0.5, 12),
          unpriced: 0,
          p50Ms: expect.closeTo(store.percentile(durations, 0.5), 9),
          p95Ms: expect.closeTo(store.percentile(durations, 0.95), 9),
        },
        {
          group: 'acme-llm',
          calls: 1,
          errors: 0,
          inputTokens: 100,
          outputTokens: 10,
          cacheReadTokens: 0,
          costUsd: null,
          unpriced: 1,
          p50Ms: 300,
          p95Ms: 300,
        },
      ]);
      expect(summary.unpricedModels).toEqual([{ model: 'acme-llm', calls: 1 }]);
    });

    it('groups by session and by provider', async () => {
      const bySession = await summaryOf(sink.callQueries(), { ...lastDay(), by: 'session' });
      expect(bySession.groups.map((g) => [g.group, g.calls])).toEqual([
        ['session-reported', 1],
        ['session-first', 1],
        ['session-failed', 1],
        ['session-unknown', 1],
      ]);
      const byProvider = await summaryOf(sink.callQueries(), { ...lastDay(), by: 'provider' });
      expect(byProvider.groups.map((g) => [g.group, g.calls])).toEqual([
        ['openai', 3],
        ['acme', 1],
      ]);
    });

    it('refuses to re-price while another maintenance run holds the lease', async () => {
      const release = await store.holdLease(url, table);
      try {
        await expect(reprice(tableOf(A))).rejects.toMatchObject({
          name: 'MaintenanceBusyError',
          message: expect.stringMatching(
            /^another maintenance run \(llamonitor reprice, prune or compact\) is working on /,
          ),
        });
      } finally {
        await release();
      }
      expect((await stored('first')).cost_usd).toBeCloseTo(costAt(B, 1000, 200), 12);
    });

    if (store.name === 'Parquet') {
      it('takes over a lease its holder left behind (kill -9), once it is stale', async () => {
        const lease = join(url, table, '_maintenance.lease');
        await writeFile(lease, 'a-dead-run');
        const old = new Date(Date.now() - 10 * 60_000);
        await utimes(lease, old, old);
        expect(await reprice(tableOf(B))).toMatchObject({ repriced: 0 });
      });
    }
  });
}
