/**
 * docs/api.md's read-only database accounts are enough for `llamonitor serve`:
 * an account granted SELECT on the table alone answers every endpoint, and
 * cannot write.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type MetricEvent } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';
import {
  MYSQL_URL,
  POSTGRES_URL,
  dropMySqlTable,
  dropPostgresTable,
  mysqlAvailable,
  postgresAvailable,
  uniqueName,
} from '../support/databases.js';
import { importBuilt } from '../support/built-package.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { startServer } = await importBuilt<typeof import('../../src/serve/server.js')>('serve/server.js');

const ENDPOINTS = [
  '/api/summary?by=model',
  '/api/timeseries',
  '/api/calls',
  '/api/sessions',
  '/api/sessions/read-only',
  `/api/traces/${'ab'.repeat(16)}`,
];

function call(): MetricEvent {
  return fitRow({
    event_id: `00000000-0000-5000-8000-${randomBytes(6).toString('hex')}`,
    schema_version: SCHEMA_VERSION,
    session_id: 'read-only',
    trace_id: 'ab'.repeat(16),
    span_id: 'cd'.repeat(8),
    parent_span_id: null,
    operation_name: 'chat gpt-4o',
    operation_type: 'llm_call',
    timestamp: new Date(Date.now() - 60_000).toISOString().replace('Z', '000Z'),
    duration_ms: 420,
    model: 'gpt-4o',
    input_tokens: 12,
    output_tokens: 3,
  });
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Every endpoint answers 200 through a sink that connects as the reader. */
async function everyEndpointAnswers(url: string, table: string): Promise<void> {
  const sink = await createSink(resolveOptions({ url, table, createTable: false }));
  const queries = sink.callQueries();
  const server = await startServer({ host: '127.0.0.1', port: 0, queries, target: 'reader' });
  try {
    for (const path of ENDPOINTS) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, `${path}: ${await response.clone().text()}`).toBe(200);
    }
    const summary = (await (await fetch(`${server.url}/api/summary`)).json()) as {
      groups: { calls: number }[];
    };
    expect(summary.groups[0]?.calls).toBe(1);
  } finally {
    await server.close();
    await queries.close();
    await sink.close();
  }
}

describe('a read-only account', () => {
  it('PostgreSQL: SELECT on the table is enough, and the account cannot write', async (context) => {
    if (!(await postgresAvailable())) return context.skip();
    const table = uniqueName('serve_ro');
    const reader = uniqueName('reader');
    const writer = await createSink(resolveOptions({ url: POSTGRES_URL, table }));
    await writer.prepare();
    await writer.write([call()]);
    await writer.close();
    cleanups.push(() => dropPostgresTable(POSTGRES_URL, table));
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      // docs/api.md's statements, with this run's names.
      await admin.query(`CREATE ROLE ${reader} LOGIN PASSWORD 'secret'`);
      cleanups.push(async () => {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP OWNED BY ${reader}`);
        await client.query(`DROP ROLE ${reader}`);
        await client.end();
      });
      await admin.query(`GRANT USAGE ON SCHEMA public TO ${reader}`);
      await admin.query(`GRANT SELECT ON "${table}" TO ${reader}`);
    } finally {
      await admin.end();
    }
    const url = new URL(POSTGRES_URL);
    url.username = reader;
    url.password = 'secret';
    await everyEndpointAnswers(url.toString(), table);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await expect(client.query(`DELETE FROM "${table}"`)).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
    }
  });

  it('MariaDB: SELECT on the table is enough, and the account cannot write', async (context) => {
    if (!(await mysqlAvailable())) return context.skip();
    const table = uniqueName('serve_ro');
    const reader = uniqueName('reader').slice(0, 32);
    const writer = await createSink(resolveOptions({ url: MYSQL_URL, table }));
    await writer.prepare();
    await writer.write([call()]);
    await writer.close();
    cleanups.push(() => dropMySqlTable(MYSQL_URL, table));
    const database = new URL(MYSQL_URL).pathname.slice(1);
    const admin = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      await admin.query(`CREATE USER '${reader}'@'%' IDENTIFIED BY 'secret'`);
      cleanups.push(async () => {
        const connection = await mysql.createConnection({ uri: MYSQL_URL });
        await connection.query(`DROP USER '${reader}'@'%'`);
        await connection.end();
      });
      await admin.query(`GRANT SELECT ON \`${database}\`.\`${table}\` TO '${reader}'@'%'`);
    } finally {
      await admin.end();
    }
    const url = new URL(MYSQL_URL);
    url.username = reader;
    url.password = 'secret';
    await everyEndpointAnswers(url.toString(), table);
    const connection = await mysql.createConnection({ uri: url.toString() });
    try {
      await expect(connection.query(`DELETE FROM \`${table}\``)).rejects.toThrow(/command denied/);
    } finally {
      await connection.end();
    }
  });
});
