/**
 * `LLAMONITOR_METRICS=prometheus` end to end, as the README shows it: an
 * application started with the register entry (the contrib OpenAI
 * instrumentation, and the Vercel AI SDK 6's own telemetry) makes calls against
 * the fake server, its rows go to PostgreSQL, and a real Prometheus scrapes it.
 * The tokens, calls, errors, first chunks and cost Prometheus holds equal those
 * of the stored rows; the exposition passes `promtool check metrics`; the
 * example alerting rules load and pass their promtool unit tests; and every
 * query of the two Grafana dashboards runs (PromQL against this Prometheus,
 * SQL against this table) and returns data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModulePath } from '../support/built-package.js';
import { REPO } from '../support/child-process.js';
import { POSTGRES_URL, postgresAvailable, uniqueName } from '../support/databases.js';
import { startFakeLlmServer, type FakeLlmServer } from '../support/fake-llm-server.js';
import {
  freePort,
  prometheusAvailable,
  promtool,
  startPrometheus,
  type RunningPrometheus,
} from '../support/prometheus.js';
import { startBoundedApp, waitForOutput, type BoundedApp } from '../first-hour/child-app.js';

const ALERTS = join(REPO, 'docs', 'prometheus', 'alerts.yml');
const PROMETHEUS_DASHBOARD = join(REPO, 'docs', 'grafana', 'llamonitor-prometheus.json');
const POSTGRES_DASHBOARD = join(REPO, 'docs', 'grafana', 'llamonitor-postgres.json');
/** Model calls as `llamonitor stats` counts them. */
const MODEL_CALLS = `model IS NOT NULL AND NOT (coalesce(text_custom_metrics, '{}'::jsonb) ?| ARRAY['aggregate', 'aggregate_input_tokens', 'aggregate_output_tokens'])`;
/** The app's model calls: 3 + 1 failed through `openai`, 2 + 1 failed through the AI SDK (its wrappers apart). */
const CALLS = 7;

const available = (await postgresAvailable()) && prometheusAvailable();

describe.runIf(available)("metrics: 'prometheus' scraped by a real Prometheus", () => {
  const table = uniqueName('prom');
  let server: FakeLlmServer;
  let app: BoundedApp;
  let prometheus: RunningPrometheus;
  let client: pg.Client;
  let metricsUrl: string;
  const sql = async (text: string) => (await client.query(text.replaceAll('{table}', `"${table}"`))).rows;
  const one = async (text: string) => Number(Object.values((await sql(text))[0]!)[0] ?? 0);
  const promOne = async (promql: string) => (await prometheus.query(promql))[0]?.value;

  beforeAll(async () => {
    builtModulePath('register.js');
    server = await startFakeLlmServer();
    client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    app = startBoundedApp(
      [
        '--import',
        'llamonitor-otel/register',
        '--import',
        './examples/setups/instrumentation.mjs',
        'test/metrics/apps/calls-app.mjs',
      ],
      {
        LLAMONITOR_URL: POSTGRES_URL,
        LLAMONITOR_TABLE: table,
        LLAMONITOR_METRICS: 'prometheus',
        LLAMONITOR_PROMETHEUS_PORT: String(port),
        OTEL_SERVICE_NAME: 'metrics-test-app',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OPENAI_BASE_URL: server.baseURL,
        OPENAI_API_KEY: 'sk-fake-llamonitor-test',
      },
    );
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], ruleFiles: [ALERTS] });
    await waitForOutput(app, 'calls ended');
    // Rows are stored and scraped within seconds; wait, with a bound, until Prometheus has every call.
    for (let waited = 0; ; waited += 250) {
      const stored = await one(`SELECT count(*) FROM {table} WHERE ${MODEL_CALLS}`).catch(() => 0);
      const scraped = await promOne('sum(gen_ai_client_operation_duration_count)');
      if (stored === CALLS && scraped === CALLS) break;
      if (waited > 40_000)
        throw new Error(`after 40 s: ${stored} model calls stored, ${scraped} scraped; ${CALLS} made`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });

  afterAll(async () => {
    app?.child.kill('SIGTERM');
    await app?.finished;
    await prometheus?.stop();
    await server?.close();
    await client?.query(`DROP TABLE IF EXISTS "${table}"`);
    await client?.end();
  });

  it('has every model call once, and each failed one under its error type', async () => {
    expect(await promOne('sum(gen_ai_client_operation_duration_count)')).toBe(
      await one(`SELECT count(*) FROM {table} WHERE ${MODEL_CALLS}`),
    );
    const failed = await sql(
      `SELECT error_type, count(*)::int AS calls FROM {table} WHERE ${MODEL_CALLS} AND error IS NOT NULL GROUP BY 1 ORDER BY 1`,
    );
    expect(failed).toHaveLength(2);
    const byType = await prometheus.query(
      'sum by (error_type) (gen_ai_client_operation_duration_count{error_type!=""})',
    );
    expect(
      byType
        .map((s) => ({ error_type: s.metric.error_type, calls: s.value }))
        .sort((a, b) => a.error_type!.localeCompare(b.error_type!)),
    ).toEqual(failed);
  });

  it('sums the input and output tokens to those of the rows', async () => {
    const input = await one(`SELECT sum(input_tokens) FROM {table} WHERE ${MODEL_CALLS}`);
    const output = await one(`SELECT sum(output_tokens) FROM {table} WHERE ${MODEL_CALLS}`);
    expect(input).toBeGreaterThan(0);
    expect(await promOne('sum(gen_ai_client_token_usage_sum{gen_ai_token_type="input"})')).toBe(input);
    expect(await promOne('sum(gen_ai_client_token_usage_sum{gen_ai_token_type="output"})')).toBe(output);
  });

  it('adds up the cost of the rows', async () => {
    const cost = await one(`SELECT sum(cost_usd) FROM {table} WHERE ${MODEL_CALLS}`);
    expect(cost).toBeGreaterThan(0);
    expect(await promOne('sum(llamonitor_client_cost_total)')).toBeCloseTo(cost, 12);
  });

  it('counts the first chunks of the streamed call', async () => {
    const streamed = await one(`SELECT count(time_to_first_token_ms) FROM {table} WHERE ${MODEL_CALLS}`);
    expect(streamed).toBe(1);
    expect(await promOne('sum(gen_ai_client_operation_time_to_first_chunk_count)')).toBe(streamed);
  });

  it('labels the series by operation, provider and models, with service.name on target_info only', async () => {
    const series = await prometheus.query('gen_ai_client_operation_duration_count');
    const labels = new Set(series.flatMap((s) => Object.keys(s.metric)));
    expect(labels).toContain('gen_ai_operation_name');
    expect(labels).toContain('gen_ai_provider_name');
    expect(labels).toContain('gen_ai_request_model');
    expect(labels).toContain('gen_ai_response_model');
    expect([...labels].filter((label) => /session|user|trace|span|service/.test(label))).toEqual([]);
    const target = await prometheus.query('target_info');
    expect(target.map((s) => s.metric.service_name)).toEqual(['metrics-test-app']);
  });

  it('serves an exposition that promtool check metrics accepts', async () => {
    const exposition = await (await fetch(metricsUrl)).text();
    expect(exposition).toContain('# TYPE gen_ai_client_token_usage histogram');
    expect(promtool(['check', 'metrics'], exposition)).toBe('');
  });

  it('loads the example alerting rules, evaluates them without error, and they pass their unit tests', async () => {
    expect(promtool(['check', 'rules', ALERTS])).toContain('SUCCESS: 3 rules found');
    expect(promtool(['test', 'rules', join(REPO, 'docs', 'prometheus', 'alerts.test.yml')])).toContain(
      'SUCCESS',
    );
    let rules: { name: string; health: string; lastError?: string }[] = [];
    for (let waited = 0; waited < 10_000; waited += 250) {
      const data = (await prometheus.api('/api/v1/rules')) as { groups: { rules: typeof rules }[] };
      rules = data.groups.flatMap((group) => group.rules);
      if (rules.length === 3 && rules.every((rule) => rule.health === 'ok')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(rules.map((rule) => [rule.name, rule.health, rule.lastError ?? ''])).toEqual([
      ['LlmErrorRateHigh', 'ok', ''],
      ['LlmCostPerHourHigh', 'ok', ''],
      ['LlmLatencyP95High', 'ok', ''],
    ]);
  });

  it('runs every PromQL query of the Prometheus dashboard, each giving series', async () => {
    const queries = dashboardTargets(PROMETHEUS_DASHBOARD).map((target) => target.expr!);
    expect(queries.length).toBeGreaterThanOrEqual(8);
    const variable = JSON.parse(readFileSync(PROMETHEUS_DASHBOARD, 'utf8')).templating.list[0];
    const models = await prometheus.api('/api/v1/label/gen_ai_request_model/values');
    expect(variable.definition).toBe(
      'label_values(gen_ai_client_operation_duration_count{otel_scope_name="llamonitor-otel"}, gen_ai_request_model)',
    );
    expect(models).toEqual(expect.arrayContaining(['gpt-4o-mini', 'gpt-4o', 'error-429']));
    // A rate needs two samples in its window: wait for a few scrapes after the calls.
    for (let waited = 0; ; waited += 250) {
      const samples = await promOne('min(count_over_time(gen_ai_client_operation_duration_count[1m]))');
      if (samples !== undefined && samples >= 3) break;
      if (waited > 20_000) throw new Error(`after 20 s, ${samples} scrapes of the calls in the last minute`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    for (const expr of queries) {
      const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$model', '.*');
      expect(promql, expr).not.toMatch(/\$/);
      expect((await prometheus.query(promql)).length, expr).toBeGreaterThan(0);
    }
  });

  it('runs every SQL query of the PostgreSQL dashboard on the table, each giving rows', async () => {
    const targets = dashboardTargets(POSTGRES_DASHBOARD);
    expect(targets.length).toBeGreaterThanOrEqual(4);
    const from = `'${new Date(Date.now() - 3_600_000).toISOString()}'`;
    const to = `'${new Date(Date.now() + 60_000).toISOString()}'`;
    const byModel = new Map<string, number>();
    for (const target of targets) {
      // Grafana's own expansions of its PostgreSQL macros.
      const query = target
        .rawSql!.replace(/\$__timeFilter\(("?\w+"?)\)/g, `$1 BETWEEN ${from} AND ${to}`)
        .replace(
          /\$__timeGroupAlias\(("?\w+"?), '1h'\)/g,
          `floor(extract(epoch from $1)/3600)*3600 AS "time"`,
        )
        .replaceAll('metric_events', `"${table}"`);
      expect(query, target.rawSql).not.toMatch(/\$/);
      const rows = (await client.query(query)).rows;
      expect(rows.length, target.rawSql).toBeGreaterThan(0);
      if ('calls' in rows[0] && 'model' in rows[0])
        for (const row of rows) byModel.set(row.model, Number(row.calls));
    }
    const scraped = await prometheus.query(
      'sum by (gen_ai_request_model) (gen_ai_client_operation_duration_count)',
    );
    expect(Object.fromEntries(byModel)).toEqual(
      Object.fromEntries(scraped.map((s) => [s.metric.gen_ai_request_model, s.value])),
    );
  });
});

interface DashboardTarget {
  readonly expr?: string;
  readonly rawSql?: string;
}

/** Every query target of a Grafana dashboard's panels. */
function dashboardTargets(path: string): DashboardTarget[] {
  const dashboard = JSON.parse(readFileSync(path, 'utf8')) as { panels: { targets: DashboardTarget[] }[] };
  return dashboard.panels.flatMap((panel) => panel.targets);
}
