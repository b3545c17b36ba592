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
