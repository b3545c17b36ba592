/** The CLI's commands; each returns the process exit code and writes its report to `out`. */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { hrTimeToIsoMicros } from '../schema/timestamps.js';
import { SCHEMA_VERSION, type MetricEvent } from '../schema/columns.js';
import { fitRow } from '../schema/fit-row.js';
import { ConfigError } from '../errors.js';
import { resolveOptions, type ResolvedOptions } from '../config/options.js';
import { createSink } from '../config/create-sink.js';
import { redactSecrets } from '../secrets.js';
import type { Sink } from '../sinks/sink.js';
import { SpillStore } from '../spill/spill-store.js';
import { DeadLetterStore } from '../spill/dead-letter.js';
import { Replayer } from '../export/replayer.js';
import { withDeadline } from '../export/deadline.js';
import { retentionCutoff } from '../export/maintenance-runs.js';
import { WAITING_REPORTS } from './waiting.js';

export type Env = Readonly<Record<string, string | undefined>>;
export type Out = (line: string) => void;

/** The exit code of a command line that cannot work as given (1 is a check or the work that failed). */
export const EXIT_USAGE = 2;

function describeTarget(options: ResolvedOptions): string {
  const target = options.target;
  return `${target.kind} ${target.display}, table ${options.schema ? `${options.schema}.` : ''}${options.table}`;
}

/** Error text with the URL's password removed, whatever the driver put in it. */
function safeMessage(error: unknown, options: ResolvedOptions | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  return redactSecrets(message, options?.target.secrets ?? []);
}

export function loadOptions(
  env: Env,
  out: Out,
  overrides: { createTable?: boolean } = {},
): ResolvedOptions | undefined {
  try {
    return resolveOptions(overrides, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    out(`[fail] configuration: ${error.message}`);
    return undefined;
  }
}

/**
 * Creates the table, or brings an existing one up to this schema version: adds
 * the columns it lacks (in place) and builds the indexes it lacks (online).
 * `printSql`: prints each statement it would run, runs none.
 */
export async function migrate(env: Env, out: Out, printSql = false): Promise<number> {
  const options = loadOptions(env, out, { createTable: true });
  if (!options) return 1;
  let sink: Sink | undefined;
  try {
    sink = await createSink(options);
    const statements = await sink.migrate(printSql);
    if (printSql) {
      if (statements.length === 0)
        out(`-- nothing to change: ${describeTarget(options)} is at schema ${SCHEMA_VERSION}`);
      for (const statement of statements) out(`${statement};`);
      return 0;
    }
    for (const statement of statements) out(`[ok]   ran: ${statement}`);
    await sink.prepare();
    out(`[ok]   the table and its indexes are ready (schema ${SCHEMA_VERSION}): ${describeTarget(options)}`);
    return 0;
  } catch (error) {
    out(`[fail] migrate ${describeTarget(options)}: ${safeMessage(error, options)}`);
    return 1;
  } finally {
    await sink?.close().catch(() => {});
  }
}

function probeRow(): MetricEvent {
  const now = Date.now();
  return fitRow({
    event_id: randomUUID(),
    schema_version: SCHEMA_VERSION,
    session_id: 'llamonitor-doctor',
    trace_id: randomUUID().replaceAll('-', ''),
    span_id: randomUUID().replaceAll('-', '').slice(0, 16),
    parent_span_id: null,
    operation_name: 'llamonitor doctor probe',
    operation_type: 'other',
    timestamp: hrTimeToIsoMicros([Math.floor(now / 1000), (now % 1000) * 1e6 + 123_000]),
    duration_ms: 0.5,
    custom_attributes: { probe: true, text: "tab\tquote' backslash\\ 🦙" },
  });
}

interface Check {
  readonly name: string;
  readonly hint: string;
  /** What passed; a `warning` is printed and the checks go on. */
  readonly run: () => Promise<string | { readonly warning: string }>;
}

/** Connects, checks the table, writes, reads back and removes a probe row: one line per check; 0 only when all pass. */
export async function doctor(env: Env, out: Out): Promise<number> {
  const options = loadOptions(env, out, { createTable: false });
  if (!options) return 1;
  out(`[ok]   configuration: ${describeTarget(options)}`);
  const timeout = Math.min(options.exportTimeoutMillis, 15_000);
  let sink: Sink | undefined;
  const row = probeRow();
  const checks: Check[] = [
    {
      name: 'driver',
      hint: 'install the driver for this URL (npm install pg pg-copy-streams, or npm install mysql2)',
      run: async () => {
        sink = await createSink(options);
        return `loaded the ${options.target.kind} sink`;
      },
    },
    {
      name: 'connect',
      hint: "check that the server runs and that the URL's host, port, user, password and database are right",
      run: async () => {
        await withDeadline(sink!.checkHealth(), timeout, 'the connection');
        return `reached ${sink!.target}`;
      },
    },
    {
      name: 'table',
      hint: 'run `llamonitor migrate` to create the table, or fix the column named above',
      run: async () => {
        await withDeadline(sink!.prepare(), timeout, 'checking the table');
        return `${options.table} has every column metric_events needs`;
      },
    },
    {
      name: 'schema',
      hint: 'check that this user may read the catalog (information_schema, pg_catalog)',
      run: async () => {
        const gaps = await withDeadline(sink!.schemaGaps(), timeout, 'reading the table');
        const parts = [
          ...(gaps && gaps.columns.length > 0 ? [`columns ${gaps.columns.join(', ')}`] : []),
          ...(gaps ? gaps.indexes.map((index) => `index ${index}`) : []),
        ];
        if (parts.length === 0) return `${options.table} is at schema ${SCHEMA_VERSION}`;
        return {
          warning:
            `${options.table} lacks the schema ${SCHEMA_VERSION} ${parts.join('; ')}; rows are stored without them. ` +
            `Run: ${migrateCommand(options)}`,
        };
      },
    },
    {
      name: 'write',
      hint: 'grant INSERT on the table (or write access to the folder) to this user',
      run: async () => {
        await withDeadline(sink!.write([row]), timeout, 'writing the probe row');
        await withDeadline(sink!.flush(), timeout, 'flushing the probe row');
        return `wrote probe row ${row.event_id}`;
      },
    },
    {
      name: 'read back',
      hint: 'grant SELECT on the table to this user',
      run: async () => {
        const [back] = await withDeadline(sink!.readBack([row.event_id]), timeout, 'reading the probe row');
        if (!back) throw new Error('the probe row was written but is not there');
        if (
          back.timestamp !== row.timestamp ||
          back.custom_attributes?.text !== row.custom_attributes?.text
        ) {
          throw new Error(`the probe row came back changed: ${JSON.stringify(back)}`);
        }
        return 'the probe row came back unchanged (microseconds and text included)';
      },
    },
    {
      name: 'remove probe',
      hint: 'grant DELETE on the table (only the doctor needs it), or delete the row whose session_id is llamonitor-doctor',
      run: async () => {
        await withDeadline(sink!.remove([row.event_id]), timeout, 'removing the probe row');
        return 'removed the probe row';
      },
    },
  ];
  let failed = false;
  for (const check of checks) {
    if (failed) {
      out(`[skip] ${check.name}`);
      continue;
    }
    try {
      const outcome = await check.run();
      if (typeof outcome === 'string') out(`[ok]   ${check.name}: ${outcome}`);
      else out(`[warn] ${check.name}: ${outcome.warning}`);
    } catch (error) {
      failed = true;
      out(`[fail] ${check.name}: ${safeMessage(error, options)}\n       what to do: ${check.hint}`);
    }
  }
  await (sink as Sink | undefined)?.close().catch(() => {});
  for (const report of WAITING_REPORTS) {
    try {
      for (const line of await report(options)) {
        out(`${line.status === 'ok' ? '[ok]  ' : '[warn]'} ${line.name}: ${line.detail}`);
      }
    } catch (error) {
      failed = true;
      out(`[fail] reading what waits on disk: ${safeMessage(error, options)}`);
    }
  }
  return failed ? 1 : 0;
}

/** The exact `llamonitor migrate` command for these options (the URL from the environment, as the doctor read it). */
function migrateCommand(options: ResolvedOptions): string {
  const flags = [`--table ${options.table}`, ...(options.schema ? [`--schema ${options.schema}`] : [])];
  return `llamonitor migrate ${flags.join(' ')} (with the same LLAMONITOR_URL)`;
}

/** Why `folder` cannot hold spill files, or undefined when it is a folder. */
async function missingFolder(folder: string): Promise<'does not exist' | 'is not a folder' | undefined> {
  try {
    return (await stat(folder)).isDirectory() ? undefined : 'is not a folder';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'does not exist';
    throw error;
  }
}

/**
 * The exit code when the spill folder leaves replay nothing to do, else undefined. A folder named on
 * purpose that is not there is a mistake; the default one is simply not made before the first spill.
 */
async function spillFolderProblem(env: Env, options: ResolvedOptions, out: Out): Promise<number | undefined> {
  const missing = await missingFolder(options.spillDir);
  if (missing === undefined) return undefined;
  const folder = resolve(options.spillDir);
  const named = env.LLAMONITOR_SPILL_DIR !== undefined && env.LLAMONITOR_SPILL_DIR !== '';
  if (missing === 'does not exist' && !named) {
    out(
      `nothing to replay: no spill folder at ${folder} (the default; give --spill-dir if your application spills elsewhere)`,
    );
    return 0;
  }
  out(
    `llamonitor replay: the spill folder ${folder} ${missing}: ` +
      'give --spill-dir (or LLAMONITOR_SPILL_DIR) the folder your application spills into',
  );
  return EXIT_USAGE;
}

/** Sends every spilled batch to the configured sink, oldest first. */
export async function replay(env: Env, out: Out): Promise<number> {
  const options = loadOptions(env, out);
  if (!options) return 1;
  const problem = await spillFolderProblem(env, options, out);
  if (problem !== undefined) return problem;
  let sink: Sink | undefined;
  try {
    const opened = await createSink(options);
    sink = opened;
    await opened.prepare();
    // Asked for by hand: files another host claimed are taken too, once that host's lease is stale.
    const store = new SpillStore(options.spillDir, options.spillMaxBytes, {
      fileMode: options.fileMode,
      otherHosts: true,
    });
    const deadLetters = new DeadLetterStore(options.spillDir, options.fileMode);
    const report = await new Replayer(store, {
      destination: undefined,
      write: (rows, signal) => opened.write(rows, signal),
      checkHealth: (signal) => opened.checkHealth(signal),
      deadLetters,
      timeoutMillis: options.exportTimeoutMillis,
      retentionCutoff:
        options.retentionDays > 0 ? () => retentionCutoff(options.retentionDays, Date.now()) : undefined,
    }).replayOnce();
    await opened.flush();
    out(
      `replayed ${report.rows} rows from ${report.files} files in ${options.spillDir} into ${describeTarget(options)}` +
        (report.setAside > report.expired
          ? `; set ${report.setAside - report.expired} unusable files aside in ${options.spillDir}/set-aside`
          : '') +
        (report.expired > 0
          ? `; set ${report.expired} files aside in ${options.spillDir}/set-aside whose rows are all older than LLAMONITOR_RETENTION_DAYS=${options.retentionDays} (the next prune would remove them)`
          : ''),
    );
    const kept = await deadLetters.summary();
    if (kept.rows > 0) {
      out(
        `[warn] ${kept.rows} rows the sink refused (${report.deadLettered} in this replay) are kept in ` +
          `${kept.files} dead-letter files in ${deadLetters.directory}, not replayed; the first error: ` +
          safeMessage(new Error(kept.firstError), options),
      );
    }
    for (const { file, reason } of report.refused) {
      out(
        `[fail] the sink refused ${file}, kept for the next replay: ${safeMessage(new Error(reason), options)}`,
      );
    }
    if (report.stoppedBecause !== undefined) {
      out(
        `[fail] stopped early: ${safeMessage(new Error(report.stoppedBecause), options)}; the files left stay for the next replay`,
      );
      return 1;
    }
    return report.refused.length > 0 ? 1 : 0;
  } catch (error) {
    out(`[fail] replay into ${describeTarget(options)}: ${safeMessage(error, options)}`);
    return 1;
  } finally {
    await sink?.close().catch(() => {});
  }
}
