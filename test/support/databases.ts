/**
 * The real servers the database tests talk to. URLs come from the environment,
 * with this machine's services as defaults. Without a server the tests skip with
 * a message that says how to enable them; with CI=true a missing server fails.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mysql from 'mysql2/promise';

export const POSTGRES_URL =
  process.env.LLAMONITOR_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.LLAMONITOR_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const inCi = process.env.CI === 'true' || process.env.CI === '1';

async function probe(
  kind: string,
  url: string,
  envVar: string,
  connect: () => Promise<void>,
): Promise<boolean> {
  try {
    await connect();
    return true;
  } catch (error) {
    const message =
      `${kind} is not reachable at ${url.replace(/:[^:@/]*@/, ':****@')} (${(error as Error).message}). ` +
      `Start it, or point ${envVar} at a server, to run these tests.`;
    if (inCi) throw new Error(`CI=true and ${message}`);
    console.warn(`skipping ${kind} tests: ${message}`);
    return false;
  }
}

/** True when PostgreSQL answers; false (tests skip) when not, except under CI=true where it throws. */
export function postgresAvailable(): Promise<boolean> {
  return probe('PostgreSQL', POSTGRES_URL, 'LLAMONITOR_TEST_POSTGRES_URL', async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.end();
  });
}

/** True when MySQL/MariaDB answers; false (tests skip) when not, except under CI=true where it throws. */
export function mysqlAvailable(): Promise<boolean> {
  return probe('MySQL/MariaDB', MYSQL_URL, 'LLAMONITOR_TEST_MYSQL_URL', async () => {
    const connection = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3000 });
    await connection.end();
  });
}

/** A table or schema name of its own for each test run, so runs never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops a test's PostgreSQL table (quoted, in the connection's search path), if it is there. */
export async function dropPostgresTable(url: string, table: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS "${table}"`);
  } finally {
    await client.end();
  }
}

/** Drops a test's MySQL/MariaDB table, if it is there. */
export async function dropMySqlTable(url: string, table: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: url });
  try {
    await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
  } finally {
    await connection.end();
  }
}
