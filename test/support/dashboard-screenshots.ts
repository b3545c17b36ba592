/**
 * The README's screenshots of the dashboard (docs/img/): a day of rows
 * (dashboard-rows.ts) stored as Parquet through the package's sink, served by
 * `llamonitor serve`'s server, photographed in headless Chromium.
 *
 *   npm run build && npm run screenshots
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importBuilt } from './built-package.js';
import { chromiumAvailable, launchChromium } from './chromium.js';
import { REPO } from './child-process.js';
import { dashboardRows } from './dashboard-rows.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { startServer } = await importBuilt<typeof import('../../src/serve/server.js')>('serve/server.js');

const chromiumPath = chromiumAvailable();
if (chromiumPath === undefined) process.exit(1);
const folder = await mkdtemp(join(tmpdir(), 'llamonitor-screenshots-'));
const sink = await createSink(resolveOptions({ url: folder }));
await sink.write(dashboardRows(Date.now() - 60_000, 60, 23).rows);
await sink.flush();
const queries = sink.callQueries();
const server = await startServer({ host: '127.0.0.1', port: 0, queries, target: 'screenshots' });
const browser = await launchChromium(chromiumPath);
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${server.url}/`);
  await page.waitForSelector('body[data-loaded]');
  await page.screenshot({ path: join(REPO, 'docs', 'img', 'dashboard.png'), fullPage: true });
  await page.locator('#sessions tbody tr').first().click();
  await page.waitForSelector('#session-view:not([hidden])');
  await page.locator('#session-calls tbody tr').first().click();
  await page.waitForSelector('#trace-view:not([hidden])');
  await page.locator('#session-view').screenshot({ path: join(REPO, 'docs', 'img', 'session.png') });
  await page.locator('#trace-view').screenshot({ path: join(REPO, 'docs', 'img', 'trace.png') });
  console.log('docs/img/dashboard.png, docs/img/session.png, docs/img/trace.png');
} finally {
  await browser.close();
  await server.close();
  await queries.close();
  await sink.close();
  await rm(folder, { recursive: true, force: true });
}
