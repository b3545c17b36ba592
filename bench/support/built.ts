/**
 * The code under test comes from the BUILT package (dist/): what users run,
 * compiled by tsc, not tsx's on-the-fly transform. `npm run bench` builds
 * first; importBuilt refuses a dist/ older than src/.
 */
import { importBuilt } from '../../test/support/built-package.js';

export const llamonitor = await importBuilt<typeof import('../../src/index.js')>('index.js');
export type { MetricEvent } from '../../src/schema/columns.js';
export type { MetricEventsSpanExporter } from '../../src/export/exporter.js';
export type { MetricEventsSpanProcessor } from '../../src/export/processor.js';

/** A module of dist/, typed as its source: `built<typeof import('../../src/x.js')>('x.js')`. */
export function built<T>(modulePath: string): Promise<T> {
  return importBuilt<T>(modulePath);
}
