/**
 * `llamonitor stats` (what the calls of a time range cost, by model, provider,
 * user, session, service or operation) and `llamonitor reprice` (the cost of
 * stored rows worked out again with the prices configured now), against the
 * configured sink.
 */
import { createSink } from '../config/create-sink.js';
import type { ResolvedOptions } from '../config/options.js';
import { priceTableOf } from '../config/prices.js';
import { repriceRow } from '../pricing/reprice-row.js';
import { redactSecrets } from '../secrets.js';
import {
  SUMMARY_GROUPS,
  summaryOf,
  type GroupSummary,
  type Summary,
  type SummaryGroup,
} from '../sinks/maintenance.js';
import type { Sink } from '../sinks/sink.js';
import { EXIT_USAGE, loadOptions, type Env, type Out } from './commands.js';

const UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * A time as the flags take it: a duration back from `now` (`30m`, `12h`, `7d`,
 * `2w`) or an ISO 8601 day or date-time (a day is its midnight UTC).
 */
export function parseTime(text: string, now: number): Date | undefined {
  const duration = /^(\d+)([mhdw])$/.exec(text.trim());
  if (duration) return new Date(now - Number(duration[1]) * UNITS[duration[2]!]!);
  const millis = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? `${text.trim()}T00:00:00Z` : text);
  return Number.isNaN(millis) ? undefined : new Date(millis);
}

interface Range {
  readonly from: Date;
  readonly to: Date;
}

/** The range of --since / --until, or a message naming the flag that is wrong. */
function rangeOf(command: string, since: string | undefined, until: string | undefined): Range | string {
  const now = Date.now();
  if (since === undefined)
    return `llamonitor ${command} needs --since (7d, 12h, 2026-11-01, or an ISO 8601 time)`;
  const from = parseTime(since, now);
  if (from === undefined)
    return `llamonitor ${command}: --since ${since} is not a duration (7d, 12h, 30m) or an ISO 8601 day or time`;
  const to = until === undefined ? new Date(now) : parseTime(until, now);
  if (to === undefined)
    return `llamonitor ${command}: --until ${until} is not a duration (7d, 12h, 30m) or an ISO 8601 day or time`;
  if (to.getTime() <= from.getTime())
    return `llamonitor ${command}: --until ${to.toISOString()} is not after --since ${from.toISOString()}`;
  return { from, to };
}

/** Runs `work` on the sink of `options` (loaded once by the caller), closing it after. */
export async function withSink<T>(
  options: ResolvedOptions,
  out: Out,
  command: string,
  work: (sink: Sink, target: string) => Promise<T>,
): Promise<T | undefined> {
  let sink: Sink | undefined;
  try {
    sink = await createSink(options);
    return await work(sink, `${options.target.kind} ${options.target.display}, table ${options.table}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    out(`[fail] ${command}: ${redactSecrets(message, options.target.secrets ?? [])}`);
    return undefined;
  } finally {
    await sink?.close().catch(() => undefined);
  }
}

export async function stats(
  env: Env,
  out: Out,
  since: string | undefined,
  until: string | undefined,
  by: string | undefined,
  json: boolean,
): Promise<number> {
  const range = rangeOf('stats', since, until);
  if (typeof range === 'string') {
    out(range);
    return EXIT_USAGE;
  }
  const group = (by ?? 'model') as SummaryGroup;
  if (!SUMMARY_GROUPS.includes(group)) {
    out(`llamonitor stats: --by ${by} is not one of ${SUMMARY_GROUPS.join(', ')}`);
    return EXIT_USAGE;
  }
  const options = loadOptions(env, out, { createTable: false });
  if (!options) return 1;
  const summary = await withSink(options, out, 'stats', (sink) =>
    summaryOf(sink.callQueries(), { ...range, by: group }),
  );
  if (summary === undefined) return 1;
  if (json) {
    out(
      JSON.stringify(
        { from: range.from.toISOString(), to: range.to.toISOString(), by: group, ...summary },
        null,
        2,
      ),
    );
    return 0;
  }
  printSummary(out, range, group, summary);
  return 0;
}

const HEADINGS = [
  'calls',
  'errors',
  'error %',
  'input tokens',
  'output tokens',
  'cache read',
  'cost (USD)',
  'unpriced',
  'p50 ms',
  'p95 ms',
];

function cells(summary: GroupSummary): string[] {
  const rate = summary.calls === 0 ? 0 : (100 * summary.errors) / summary.calls;
  const ms = (value: number | null) => (value === null ? '-' : value.toFixed(1));
  return [
    String(summary.calls),
    String(summary.errors),
    `${rate.toFixed(1)}%`,
    String(summary.inputTokens),
    String(summary.outputTokens),
    String(summary.cacheReadTokens),
    summary.costUsd === null ? '-' : summary.costUsd.toFixed(6),
    String(summary.unpriced),
    ms(summary.p50Ms),
    ms(summary.p95Ms),
  ];
}

function printSummary(out: Out, range: Range, by: SummaryGroup, summary: Summary): void {
  out(`model calls from ${range.from.toISOString()} to ${range.to.toISOString()}, by ${by}`);
  const total: GroupSummary = {
    group: 'total',
    calls: sum(summary.groups, (g) => g.calls),
    errors: sum(summary.groups, (g) => g.errors),
    inputTokens: sum(summary.groups, (g) => g.inputTokens),
    outputTokens: sum(summary.groups, (g) => g.outputTokens),
    cacheReadTokens: sum(summary.groups, (g) => g.cacheReadTokens),
    costUsd: summary.groups.some((g) => g.costUsd !== null)
      ? sum(summary.groups, (g) => g.costUsd ?? 0)
      : null,
    unpriced: sum(summary.groups, (g) => g.unpriced),
    p50Ms: null,
    p95Ms: null,
  };
  const lines = [
    [by, ...HEADINGS],
    ...summary.groups.map((g) => [g.group, ...cells(g)]),
    ['total', ...cells(total)],
  ];
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  for (const line of lines) {
    out(
      line
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  ')
        .trimEnd(),
    );
  }
  if (summary.unpricedModels.length === 0) {
    out('models without a price: none');
  } else {
    out('models without a price (cost_usd NULL; add them to a custom price file, LLAMONITOR_PRICES):');
    for (const { model, calls } of summary.unpricedModels)
      out(`  ${model}  ${calls} call${calls === 1 ? '' : 's'}`);
  }
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

export async function reprice(
  env: Env,
  out: Out,
  since: string | undefined,
  until: string | undefined,
  model: string | undefined,
  dryRun: boolean,
): Promise<number> {
  const range = rangeOf('reprice', since, until);
  if (typeof range === 'string') {
    out(range);
    return EXIT_USAGE;
  }
  const options = loadOptions(env, out, { createTable: false });
  if (!options) return 1;
  const table = priceTableOf(options);
  // One load: a custom price file is read once, and prices what this run writes.
  const report = await withSink(options, out, 'reprice', async (sink, target) => ({
    target,
    ...(await sink.reprice({ ...range, model, dryRun, reprice: (row) => repriceRow(table, row) })),
  }));
  if (report === undefined) return 1;
  const change = `${report.change < 0 ? '-' : '+'}$${Math.abs(report.change).toFixed(9)}`;
  out(
    `[ok]   ${dryRun ? 'would re-price' : 're-priced'} ${report.repriced} of ${report.examined} rows of ${report.target} ` +
      `from ${range.from.toISOString()} to ${range.to.toISOString()}${model === undefined ? '' : ` (model ${model})`}: ` +
      `total change ${change}${dryRun ? ' (dry run: nothing written)' : ''}`,
  );
  if (report.reported > 0) out(`       ${report.reported} rows keep the cost their provider reported`);
  for (const file of report.skipped)
    out(`       left alone (written before schema 1.1, no cost columns): ${file}`);
  return 0;
}
