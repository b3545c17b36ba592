/**
 * The dashboard's files, read once and served as they are: the page, its
 * script and style (src/serve/dashboard/, shipped in the package) and uPlot
 * from its npm package (no CDN: an application's network may have none).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/** dist/serve/ and src/serve/ are siblings' children: the page's folder from either. */
const PAGE_FOLDER = fileURLToPath(new URL('../../src/serve/dashboard/', import.meta.url));
const require = createRequire(import.meta.url);

const FILES: Readonly<Record<string, readonly [type: string, path: () => string]>> = {
  '/': ['text/html; charset=utf-8', () => `${PAGE_FOLDER}index.html`],
  '/assets/dashboard.js': ['text/javascript; charset=utf-8', () => `${PAGE_FOLDER}dashboard.js`],
  '/assets/dashboard.css': ['text/css; charset=utf-8', () => `${PAGE_FOLDER}dashboard.css`],
  '/assets/uPlot.iife.min.js': [
    'text/javascript; charset=utf-8',
    () => require.resolve('uplot/dist/uPlot.iife.min.js'),
  ],
  '/assets/uPlot.min.css': ['text/css; charset=utf-8', () => require.resolve('uplot/dist/uPlot.min.css')],
};

const loaded = new Map<string, Asset>();

/** The asset at `pathname`, or undefined when it is not one. */
export function dashboardAsset(pathname: string): Asset | undefined {
  const file = FILES[pathname];
  if (file === undefined) return undefined;
  let asset = loaded.get(pathname);
  if (asset === undefined) {
    asset = { type: file[0], body: readFileSync(file[1]()) };
    loaded.set(pathname, asset);
  }
  return asset;
}
