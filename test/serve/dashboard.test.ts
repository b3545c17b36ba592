/**
 * The dashboard in a real headless Chromium, over a day of rows stored as
 * Parquet through the package's sink: it loads without a console error, its
 * figures are the rows' (worked out here) and the API's, the range picker and
 * a filter change them, a session and its trace open, and a row stored while
 * the page is open shows in the live tail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricEvent } from '../../src/schema/columns.js';
import type { Sink } from '../../src/sinks/sink.js';
import { importBuilt } from '../support/built-package.js';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { dashboardRows } from '../support/dashboard-rows.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { startServer } = await importBuilt<typeof import('../../src/serve/server.js')>('serve/server.js');

const HOUR = 3_600_000;
/** The rows end a minute before the test starts: the page's "last 24 hours" holds them all. */
const NOW = Date.now() - 60_000;
const BOUND_MILLIS = 30_000;

const chromiumPath = chromiumAvailable();
// 23 hours: the page's last 24 hours, counted from a later now, still hold every row.
const { rows, sessions } = dashboardRows(NOW, 40, 23);

function isModelCall(row: MetricEvent): boolean {
  const metrics = row.text_custom_metrics ?? {};
  return row.model !== null && !('aggregate_input_tokens' in metrics) && !('aggregate' in metrics);
}

describe.skipIf(chromiumPath === undefined)('the dashboard in Chromium', () => {
  let folder: string;
  let sink: Sink;
  let queries: ReturnType<Sink['callQueries']>;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'llamonitor-dashboard-'));
    sink = await createSink(resolveOptions({ url: folder }));
    await sink.write(rows);
    await sink.flush();
    queries = sink.callQueries();
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      queries,
      target: 'dashboard test',
      livePollMillis: 250,
    });
    browser = await launchChromium(chromiumPath!);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-loaded]', { timeout: BOUND_MILLIS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await queries?.close();
    await sink?.close();
    await rm(folder, { recursive: true, force: true });
  });

  /** Changes a control and waits for the page to load what it shows again. */
  async function choose(name: string, value: string): Promise<void> {
    const before = await page.getAttribute('body', 'data-loaded');
    await page.selectOption(`#controls select[name="${name}"]`, value);
    // Waits in Playwright's own world: the page's CSP forbids evaluating script in it.
    await page.locator(`body[data-loaded]:not([data-loaded="${before}"])`).waitFor({ timeout: BOUND_MILLIS });
  }

  const card = (metric: string) => page.getAttribute(`.card[data-metric="${metric}"]`, 'data-value');

  it('shows the day: calls, cost and tokens are the rows', async () => {
    const calls = rows.filter(isModelCall);
    expect(Number(await card('calls'))).toBe(calls.length);
    expect(Number(await card('errors'))).toBe(calls.filter((row) => row.error !== null).length);
    const cost = calls.reduce((total, row) => total + (row.cost_usd ?? 0), 0);
    expect(Number(await card('cost'))).toBeCloseTo(cost, 9);
    expect(await page.textContent('.card[data-metric="cost"] .value')).toBe(`$${cost.toFixed(4)}`);
    expect(Number(await card('input-tokens'))).toBe(
      calls.reduce((total, row) => total + Number(row.input_tokens ?? 0), 0),
    );
    expect(problems).toEqual([]);
  });

  it('agrees with the API on latency, and draws every chart from the stored buckets', async () => {
    const from = new Date(Date.now() - 24 * HOUR).toISOString();
    const summary = (await (await fetch(`${server.url}/api/summary?from=${from}`)).json()) as {
      groups: { calls: number; latency_ms: { p50: number; p95: number } }[];
    };
    expect(Number(await card('latency-p50'))).toBeCloseTo(summary.groups[0]!.latency_ms.p50, 6);
    expect(Number(await card('latency-p95'))).toBeCloseTo(summary.groups[0]!.latency_ms.p95, 6);
    for (const chart of ['chart-cost', 'chart-calls', 'chart-latency', 'chart-tokens']) {
      expect(await page.locator(`#${chart} canvas`).count(), chart).toBe(1);
      expect(Number(await page.getAttribute(`#${chart}`, 'data-points')), chart).toBeGreaterThanOrEqual(24);
    }
    expect(Number(await page.getAttribute('#chart-calls', 'data-calls'))).toBe(summary.groups[0]!.calls);
    const models = new Set(rows.filter(isModelCall).map((row) => row.model));
    expect(Number(await page.getAttribute('#chart-cost', 'data-series'))).toBe(models.size);
    expect(Number(await page.getAttribute('#groups', 'data-rows'))).toBe(models.size);
  });

  it('the range picker and the model filter change what is shown', async () => {
    await choose('range', '1h');
    const lastHour = rows.filter((row) => isModelCall(row) && Date.parse(row.timestamp) >= Date.now() - HOUR);
    expect(Number(await card('calls'))).toBe(lastHour.length);
    await choose('range', '24h');
    await choose('model', 'gpt-4o-mini');
    const mini = rows.filter((row) => isModelCall(row) && row.model === 'gpt-4o-mini');
    expect(Number(await card('calls'))).toBe(mini.length);
    expect(Number(await page.getAttribute('#groups', 'data-rows'))).toBe(1);
    await choose('model', '');
    expect(Number(await card('calls'))).toBe(rows.filter(isModelCall).length);
  });

  it('opens a session, then a trace as a waterfall', async () => {
    const first = (await page.locator('#sessions tbody tr').first().locator('td').first().textContent())!;
    await page.locator('#sessions tbody tr').first().click();
    await page.waitForSelector('#session-view:not([hidden])');
    await expect.poll(() => page.textContent('#session-id'), { timeout: BOUND_MILLIS }).toBe(first);
    const sessionRows = rows.filter((row) => row.session_id === first);
    expect(Number(await page.getAttribute('#session-calls', 'data-rows'))).toBe(sessionRows.length);
    const traceId = sessions.find((session) => session.id === first)!.traces[0]!;
    await page.locator('#session-calls tbody tr').first().click();
    await expect.poll(() => page.textContent('#trace-id'), { timeout: BOUND_MILLIS }).toBe(traceId);
    expect(Number(await page.getAttribute('#waterfall', 'data-spans'))).toBe(
      rows.filter((row) => row.trace_id === traceId).length,
    );
    expect(await page.locator('#waterfall .span-bar').count()).toBe(
      rows.filter((row) => row.trace_id === traceId).length,
    );
    expect(problems).toEqual([]);
  });

  it('a row stored while the page is open shows in the live tail', async () => {
    await expect.poll(() => page.textContent('#live-state'), { timeout: BOUND_MILLIS }).toBe('(following)');
    const row: MetricEvent = {
      ...rows.find(isModelCall)!,
      event_id: '00000000-0000-5000-8000-00000000beef',
      span_id: '000000000000beef',
      timestamp: new Date().toISOString().replace('Z', '000Z'),
    };
    const written = Date.now();
    await sink.write([row]);
    await page.waitForSelector(`#live tbody tr[data-event-id="${row.event_id}"]`, { timeout: BOUND_MILLIS });
    console.info(`dashboard live tail: the row showed ${Date.now() - written} ms after its write resolved`);
    expect(problems).toEqual([]);
  });
});
