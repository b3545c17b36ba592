/**
 * What the server allows, read once at start-up: which bulk path to use and
 * how large one statement may be.
 */
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';

export type BulkPath = 'load-data' | 'insert';

export interface ServerCapabilities {
  readonly version: string;
  readonly flavor: 'mariadb' | 'mysql';
  /** The server's local_infile: off by default on MySQL 8, on by default on MariaDB. */
  readonly serverLocalInfile: boolean;
  /** Bytes: the largest packet, hence statement, the server accepts. */
  readonly maxAllowedPacket: number;
  readonly bulkPath: BulkPath;
  /** Why that path, for the debug log. */
  readonly reason: string;
  /** ALTER TABLE ... ADD COLUMN, ALGORITHM=INSTANT: MariaDB 10.3.2 and MySQL 8.0.12 onwards. */
  readonly instantAddColumn: boolean;
}

/** Whether a server of this VERSION() adds a column at the end without copying the table. */
export function addsColumnsInstantly(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  const atLeast = (a: number, b: number, c: number) =>
    major !== a ? major > a : minor !== b ? minor > b : patch >= c;
  return /mariadb/i.test(version) ? atLeast(10, 3, 2) : atLeast(8, 0, 12);
}

/** Reads the server's settings on `connection`; `clientLocalInfile` is false when the URL says local-infile=0. */
export async function detectCapabilities(
  connection: PoolConnection,
  clientLocalInfile: boolean,
): Promise<ServerCapabilities> {
  const [rows] = await connection.query<RowDataPacket[]>(
    'SELECT @@GLOBAL.local_infile AS localInfile, @@SESSION.max_allowed_packet AS maxAllowedPacket, VERSION() AS version',
  );
  const row: Record<string, unknown> = rows[0] ?? {};
  const version = String(row.version);
  const serverLocalInfile = Number(row.localInfile) === 1;
  const flavor = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const choice = chooseBulkPath(serverLocalInfile, clientLocalInfile);
  return {
    version,
    flavor,
    serverLocalInfile,
    maxAllowedPacket: Number(row.maxAllowedPacket),
    instantAddColumn: addsColumnsInstantly(version),
    ...choice,
  };
}

export function chooseBulkPath(
  serverLocalInfile: boolean,
  clientLocalInfile: boolean,
): { bulkPath: BulkPath; reason: string } {
  if (!clientLocalInfile) return { bulkPath: 'insert', reason: 'the URL says local-infile=0' };
  if (!serverLocalInfile) {
    return {
      bulkPath: 'insert',
      reason: 'the server has local_infile=OFF (SET GLOBAL local_infile=1 enables the faster LOAD DATA path)',
    };
  }
  return { bulkPath: 'load-data', reason: 'the server allows LOAD DATA LOCAL INFILE' };
}
