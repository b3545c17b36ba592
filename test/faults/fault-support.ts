/**
 * What the fault tests share: each real server behind a TcpProxy, seen through
 * one small interface (its URL, its table of this run, the span ids it stored,
 * a way to end the exporter's connections from the server side), and a steady
 * stream of real spans through a MetricEventsSpanProcessor.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, type BufferConfig } from '@opentelemetry/sdk-trace-base';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { MetricEventsExporterOptions } from '../../src/config/options.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { MetricEventsSpanProcessor } from '../../src/export/processor.js';
import { afterEach, beforeEach } from 'vitest';
import {
  MYSQL_URL,
  POSTGRES_URL,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { CHAT_ATTRIBUTES } from '../support/spans.js';
import { TcpProxy } from '../support/tcp-proxy.js';

export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis));

/** Polls `condition` every 50 ms until it holds; throws naming `what` after `timeoutMillis`. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMillis = 20_000,
): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMillis) throw new Error(`timed out after ${timeoutMillis} ms: ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

/** Settles like `promise`; throws naming `what` when it has not settled after `millis`. */
export async function within<T>(promise: Promise<T>, millis: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${millis} ms: ${what}`)), millis);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `count` more spans than now have ended in `stream`. */
export function spansEnded(stream: SpanStream, count: number, timeoutMillis = 30_000): Promise<number> {
  const target = stream.ended.length + count;
  return waitFor(`${count} more spans to end`, () => stream.ended.length >= target, timeoutMillis);
}

/** Waits until `table` holds at least `count` rows. */
export function rowsStored(inspector: Inspector, table: string, count: number, timeoutMillis = 20_000) {
  return waitFor(
    `${count} rows to be stored in ${table}`,
    async () => (await inspector.storedSpanIds(table)).length >= count,
    timeoutMillis,
  );
}

/** A real server as the fault tests see it. */
export interface FaultDatabase {
  readonly name: 'postgres' | 'mysql';
  /** The server's URL (not through a proxy). */
  readonly url: string;
  /** The URL parameter that sets the connect timeout in seconds. */
  readonly connectTimeoutParameter: string;
  /** A query connection of the test's own, for looking at tables and ending connections. */
  open(): Promise<Inspector>;
}

export interface Inspector {
  /** Span ids stored in `table`, one entry per row (a row stored twice would show twice). */
  storedSpanIds(table: string): Promise<string[]>;
  /** Event ids stored in `table`, one entry per row. */
  storedEventIds(table: string): Promise<string[]>;
  /** Ends, from the server side, the connections that come from these client ports (the proxy's upstream side). */
  killConnectionsFrom(ports: readonly number[]): Promise<number>;
  dropTable(table: string): Promise<void>;
  end(): Promise<void>;
}

export const POSTGRES: FaultDatabase = {
  name: 'postgres',
  url: POSTGRES_URL,
  connectTimeoutParameter: 'connect_timeout',
  async open() {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    return {
      async storedSpanIds(table) {
        const result = await client.query<{ span_id: string }>(`SELECT span_id FROM ${table}`);
        return result.rows.map((r) => r.span_id);
      },
      async storedEventIds(table) {
        const result = await client.query<{ id: string }>(`SELECT event_id::text AS id FROM ${table}`);
        return result.rows.map((r) => r.id);
      },
      async killConnectionsFrom(ports) {
        if (ports.length === 0) return 0;
        const result = await client.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE client_addr = '127.0.0.1' AND client_port = ANY($1::int[]) AND pid <> pg_backend_pid()`,
          [ports],
        );
        return result.rowCount ?? 0;
      },
      async dropTable(table) {
        await client.query(`DROP TABLE IF EXISTS ${table}`);
      },
      end: () => client.end(),
    };
  },
};

export const MYSQL: FaultDatabase = {
  name: 'mysql',
  url: MYSQL_URL,
  connectTimeoutParameter: 'connect-timeout',
  async open() {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    const fromPorts = async (ports: readonly number[]) => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        'SELECT ID AS id, HOST AS host FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()',
      );
      const wanted = new Set(ports.map((p) => `127.0.0.1:${p}`));
      return rows.filter((r) => wanted.has(String(r.host)));
    };
    return {
      async storedSpanIds(table) {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT span_id FROM \`${table}\``);
        return rows.map((r) => String(r.span_id));
      },
      async storedEventIds(table) {
        const [rows] = await connection.query<mysql.RowDataPacket[]>(`SELECT event_id FROM \`${table}\``);
        return rows.map((r) => String(r.event_id));
      },
      async killConnectionsFrom(ports) {
        const mine = await fromPorts(ports);
        for (const row of mine) await connection.query(`KILL CONNECTION ${Number(row.id)}`).catch(() => {});
        return mine.length;
      },
      async dropTable(table) {
        await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
      },
      end: () => connection.end(),
    };
  },
};

/** A spill folder of the test's own. */
export async function tempSpillDir(): Promise<{
  dir: string;
  files: () => Promise<string[]>;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'llamonitor-faults-'));
  return {
    dir,
    // Claimed files (being replayed) count too: they leave the folder only once the sink took them.
    files: async () => (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('spill-')),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The servers this machine runs, each a subject of the fault tests. */
export async function faultDatabases(): Promise<FaultDatabase[]> {
  return [...((await postgresAvailable()) ? [POSTGRES] : []), ...((await mysqlAvailable()) ? [MYSQL] : [])];
}

/** What each fault test gets, fresh: a proxy in front of the server, a connection to look into it, a spill folder. */
export interface FaultFixture {
  readonly proxy: TcpProxy;
  readonly inspector: Inspector;
  readonly spill: Awaited<ReturnType<typeof tempSpillDir>>;
  /** Tables the test made: dropped after it. */
  readonly tables: string[];
}

/** Registers the hooks that give each test of the enclosing describe a FaultFixture, and clean up after it. */
export function faultFixture(database: FaultDatabase): FaultFixture {
  const fixture = { tables: [] as string[] } as { -readonly [K in keyof FaultFixture]: FaultFixture[K] };
  beforeEach(async () => {
    fixture.proxy = await TcpProxy.forUrl(database.url);
    fixture.inspector = await database.open();
    fixture.spill = await tempSpillDir();
  });
  afterEach(async () => {
    await fixture.proxy.stop();
    for (const table of fixture.tables.splice(0)) await fixture.inspector.dropTable(table);
    await fixture.inspector.end();
    await fixture.spill.remove();
  });
  return fixture;
}

/** An exporter through `proxy` into a table of its own, with a short replay interval. */
export function faultExporter(
  database: FaultDatabase,
  proxy: TcpProxy,
  options: MetricEventsExporterOptions & { spillDir: string },
  extraUrlParams: Record<string, string> = {},
): { exporter: MetricEventsSpanExporter; table: string } {
  const table = options.table ?? uniqueName(`faults_${database.name}`);
  const url = new URL(proxy.url(database.url));
  for (const [key, value] of Object.entries(extraUrlParams)) url.searchParams.set(key, value);
  const exporter = new MetricEventsSpanExporter(
    { poolSize: 2, ...options, url: url.toString(), table },
    {},
    { replayIntervalMillis: 200 },
  );
  return { exporter, table };
}

/**
 * Spans of a GenAI chat, ended at a steady rate through a MetricEventsSpanProcessor
 * (a BatchSpanProcessor inside): what an application under load hands the exporter.
 */
export class SpanStream {
  readonly ended: string[] = [];
  readonly processor: MetricEventsSpanProcessor;
  private readonly provider: BasicTracerProvider;
  private timer: NodeJS.Timeout | undefined;

  /** `batch`: the BatchSpanProcessor's settings; by default a queue large enough never to drop a span. */
  constructor(exporter: MetricEventsSpanExporter, batch: BufferConfig = {}) {
    this.processor = new MetricEventsSpanProcessor({
      exporter,
      batch: {
        scheduledDelayMillis: 100,
        maxExportBatchSize: 256,
        maxQueueSize: 100_000,
        exportTimeoutMillis: 60_000,
        ...batch,
      },
    });
    this.provider = new BasicTracerProvider({ spanProcessors: [this.processor] });
  }

  /** Ends `perTick` spans every 10 ms until stop(). */
  start(perTick = 2): void {
    const tracer = this.provider.getTracer('fault-tests');
    let sequence = 0;
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const span = tracer.startSpan('chat gpt-4o-mini', {
          kind: SpanKind.CLIENT,
          attributes: {
            ...CHAT_ATTRIBUTES,
            'session.id': `session-${sequence % 13}`,
            'gen_ai.output.messages': JSON.stringify([
              {
                role: 'assistant',
                parts: [{ type: 'text', content: `answer number ${sequence}\twith "quotes"` }],
              },
            ]),
          },
        });
        sequence++;
        span.end();
        this.ended.push(span.spanContext().spanId);
      }
    }, 10);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ends `count` spans at once. */
  burst(count: number): void {
    const tracer = this.provider.getTracer('fault-tests');
    for (let i = 0; i < count; i++) {
      const span = tracer.startSpan('chat gpt-4o-mini', {
        kind: SpanKind.CLIENT,
        attributes: CHAT_ATTRIBUTES,
      });
      span.end();
      this.ended.push(span.spanContext().spanId);
    }
  }

  forceFlush(): Promise<void> {
    return this.processor.forceFlush();
  }

  shutdown(): Promise<void> {
    this.stop();
    return this.provider.shutdown();
  }
}

/** Ends `stream`, waits until the spill is replayed, compares `table` with the spans ended, and shuts down. */
export async function endAndCompare(stream: SpanStream, fx: FaultFixture, table: string) {
  stream.stop();
  await stream.forceFlush();
  await waitFor('the spill folder to empty', async () => (await fx.spill.files()).length === 0);
  const result = compareStored(stream.ended, await fx.inspector.storedSpanIds(table));
  await stream.shutdown();
  return result;
}

/** compareStored's answer when each of `ended` spans is stored exactly once. */
export function everySpanOnce(ended: number) {
  return { ended, stored: ended, missing: 0, unexpected: 0, twice: 0 };
}

/** What a comparison of ended spans with stored rows found: equal when nothing is missing, extra or twice. */
export function compareStored(ended: readonly string[], stored: readonly string[]) {
  const endedSet = new Set(ended);
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const id of stored) {
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  return {
    ended: ended.length,
    stored: stored.length,
    missing: ended.filter((id) => !seen.has(id)).length,
    unexpected: [...seen].filter((id) => !endedSet.has(id)).length,
    twice: twice.length,
  };
}

export { TcpProxy };
