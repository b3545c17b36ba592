/**
 * The MySQL sink against the real server: rows stored exactly and once, on
 * both bulk paths. Each run writes to tables of its own.
 */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { MySqlSink, type BulkPath } from '../../src/sinks/mysql/index.js';
import { InvalidIdentifierError } from '../../src/schema/identifier.js';
import type { MetricEvent } from '../../src/schema/columns.js';
import { mysqlAvailable, uniqueName } from '../support/databases.js';
import { chatRow, comparable, countRows, mysqlUrl, openInspector, readRows } from './mysql-support.js';

const available = await mysqlAvailable();

/** The URL parameter that selects each bulk path on this server (which allows local_infile). */
const PATHS: readonly { path: BulkPath; params: string }[] = [
  { path: 'load-data', params: '' },
  { path: 'insert', params: 'local-infile=0' },
];

describe.skipIf(!available)('MySqlSink writing rows', () => {
  let inspector: mysql.Connection;
  const tables: string[] = [];
  const sinks: MySqlSink[] = [];

  async function preparedSink(path: BulkPath, prefix: string): Promise<{ sink: MySqlSink; table: string }> {
    const table = uniqueName(`mysql_${prefix}`);
    tables.push(table);
    const params = PATHS.find((p) => p.path === path)?.params ?? '';
    const sink = new MySqlSink(mysqlUrl(params), { table, poolSize: 2, createTable: true });
    sinks.push(sink);
    await sink.prepare();
    expect(sink.path).toBe(path);
    return { sink, table };
  }

  beforeAll(async () => {
    inspector = await openInspector();
  });

  afterAll(async () => {
    await Promise.all(sinks.map((s) => s.close()));
    for (const table of tables) await inspector?.query(`DROP TABLE IF EXISTS \`${table}\``);
    await inspector?.end();
  });

  describe.each(PATHS)('through $path', ({ path }) => {
    it('stores every column exactly: microseconds, emoji, int64 above 2^53, doubles, JSON', async () => {
      const { sink, table } = await preparedSink(path, 'exact');
      const rows: MetricEvent[] = [
        chatRow({
          session_id: 'ünïcödé 🦙 session 😀',
          timestamp: '2026-12-31T23:59:59.999999Z',
          duration_ms: 0.1 + 0.2,
          image_count: 2,
          image_total_pixels: 2n ** 62n + 7n,
          image_file_size_bytes: Number.MAX_SAFE_INTEGER,
          image_width: 2147483647,
          image_height: -2147483648,
          image_format: 'png',
          image_custom_metrics: { images: [{ side: 'input', format: 'png', width: 1024, height: 768 }] },
          error: 'RateLimitError: 429 🚦',
          error_type: 'RateLimitError',
          custom_attributes: {
            model: 'gpt-4o',
            nested: { list: [1, 2.5, true, null, 'é'] },
            big: '9007199254740993',
          },
        }),
        chatRow({ timestamp: '1970-01-01T00:00:00.000001Z', duration_ms: 5e-324, text_custom_metrics: {} }),
        chatRow({ parent_span_id: null, duration_ms: null, text_char_count: null, custom_attributes: null }),
      ];
      await sink.write(rows);
      expect(await readRows(inspector, table)).toEqual(comparable(rows));
    });

    it('stores each row once when the same batch is written twice', async () => {
      const { sink, table } = await preparedSink(path, 'twice');
      const rows = Array.from({ length: 50 }, () => chatRow());
      await sink.write(rows);
      await sink.write(rows);
      expect(await countRows(inspector, table)).toBe(50);
    });

    it('stores the new rows of a batch that repeats some already stored', async () => {
      const { sink, table } = await preparedSink(path, 'overlap');
      const first = Array.from({ length: 10 }, () => chatRow());
      const second = [...first.slice(5), ...Array.from({ length: 10 }, () => chatRow())];
      await sink.write(first);
      await sink.write(second);
      expect(await countRows(inspector, table)).toBe(20);
    });

    it('keeps quotes, backslashes, tabs, newlines, \\N, NULL and stripped NUL as data', async () => {
      const { sink, table } = await preparedSink(path, 'hostile');
      const nasty = [
        'it\'s "quoted" `ticked`',
        'back\\slash \\ end\\',
        'tab\there\r\nCRLF\nLF',
        '\\N',
        'NULL',
        'nul\0inside',
        "'); DROP TABLE users; --",
        '\\t literal backslash-t \\n',
        '',
      ];
      const rows = nasty.map((text) =>
        chatRow({ operation_name: text, error: text, custom_attributes: { text, [text]: 1 } }),
      );
      await sink.write(rows);
      const stored = await readRows(inspector, table);
      expect(stored).toEqual(comparable(rows));
      expect(stored.map((r) => r.operation_name)).toContain('\\N');
      expect(stored.map((r) => r.error)).toContain('nulinside');
    });

    it('stores the deepest JSON that fitRow keeps (MariaDB refuses 32 levels)', async () => {
      const { sink, table } = await preparedSink(path, 'deep');
      let deep: unknown = 'leaf';
      for (let i = 0; i < 40; i++) deep = { a: deep };
      const rows = [chatRow({ custom_attributes: deep })];
      await sink.write(rows);
      expect(await readRows(inspector, table)).toEqual(comparable(rows));
    });

    it('fails a batch it cannot encode, stores none of it, and keeps the process alive', async () => {
      const { sink, table } = await preparedSink(path, 'unencodable');
      // Not fitted: a bigint inside JSON has no JSON form.
      const broken = { ...chatRow(), custom_attributes: { tokens: 1n } } as unknown as MetricEvent;
      const rows = [...Array.from({ length: 600 }, () => chatRow()), broken];
      await expect(sink.write(rows)).rejects.toThrow(/BigInt/);
      expect(await countRows(inspector, table)).toBe(0);
      await sink.write([chatRow()]);
      expect(await countRows(inspector, table)).toBe(1);
    });

    it('writes a batch larger than max_allowed_packet', async () => {
      const { sink, table } = await preparedSink(path, 'large');
      const [settings] = await inspector.query<mysql.RowDataPacket[]>('SELECT @@max_allowed_packet AS bytes');
      const maxAllowedPacket = Number(settings[0]?.bytes);
      // 4-byte characters at the TEXT limit: about 64 KiB a row.
      const rows = Array.from({ length: Math.ceil((maxAllowedPacket * 1.25) / 65_000) }, (_, i) =>
        chatRow({ error: `${i} ${'😀'.repeat(16_380)}` }),
      );
      const batchBytes = rows.reduce((sum, row) => sum + Buffer.byteLength(row.error ?? ''), 0);
      expect(batchBytes).toBeGreaterThan(maxAllowedPacket);
      await sink.write(rows);
      expect(await countRows(inspector, table)).toBe(rows.length);
      const [lengths] = await inspector.query<mysql.RowDataPacket[]>(
        `SELECT MIN(CHAR_LENGTH(error)) AS shortest FROM \`${table}\``,
      );
      expect(Number(lengths[0]?.shortest)).toBeGreaterThan(16_380);
    });

    it('stores every row of batches written concurrently', async () => {
      const { sink, table } = await preparedSink(path, 'concurrent');
      const batches = Array.from({ length: 6 }, () => Array.from({ length: 40 }, () => chatRow()));
      await Promise.all(batches.map((batch) => sink.write(batch)));
      expect(await countRows(inspector, table)).toBe(240);
    });
  });

  it('goes on with INSERT when the server refuses LOAD DATA LOCAL at write time', async () => {
    const table = uniqueName('mysql_refused');
    tables.push(table);
    // Without the client's LOCAL_FILES capability the server refuses LOAD DATA LOCAL, as MySQL 8 does by default.
    const sink = new MySqlSink(mysqlUrl(), {
      table,
      poolSize: 1,
      createTable: true,
      driverOptions: { flags: ['-LOCAL_FILES'] },
    });
    sinks.push(sink);
    await sink.prepare();
    expect(sink.path).toBe('load-data');
    const rows = Array.from({ length: 5 }, () => chatRow());
    await sink.write(rows);
    expect(sink.path).toBe('insert');
    expect(await readRows(inspector, table)).toEqual(comparable(rows));
  });

  it('reads rows back by event id exactly as they were written', async () => {
    const { sink } = await preparedSink('load-data', 'readback');
    const rows = [
      chatRow({
        image_total_pixels: 2n ** 62n + 1n,
        image_file_size_bytes: 12,
        timestamp: '2026-02-03T04:05:06.000007Z',
      }),
      chatRow({ custom_attributes: { nested: { a: [1, 'é😀', null] } }, duration_ms: 1 / 3 }),
      chatRow(),
    ];
    await sink.write(rows);
    const byId = (a: MetricEvent, b: MetricEvent) => (a.event_id < b.event_id ? -1 : 1);
    const wanted = rows.slice(0, 2);
    expect((await sink.readBack(wanted.map((r) => r.event_id))).sort(byId)).toEqual([...wanted].sort(byId));
  });

  it('removes rows by event id and leaves the others', async () => {
    const { sink, table } = await preparedSink('load-data', 'remove');
    const rows = [chatRow(), chatRow(), chatRow()];
    await sink.write(rows);
    await sink.remove([rows[0]?.event_id as string, rows[2]?.event_id as string]);
    expect((await readRows(inspector, table)).map((r) => r.event_id)).toEqual([rows[1]?.event_id]);
  });

  it('says in a debug log which bulk path it chose and why', async () => {
    const lines: string[] = [];
    const record = (message: string) => void lines.push(message);
    const logger: DiagLogger = { debug: record, info: record, warn: record, error: record, verbose: record };
    diag.setLogger(logger, { logLevel: DiagLogLevel.DEBUG, suppressOverrideMessage: true });
    try {
      await preparedSink('insert', 'logged');
    } finally {
      diag.disable();
    }
    expect(lines.join('\n')).toMatch(
      /bulk path insert \(the URL says local-infile=0\); max_allowed_packet \d+/,
    );
  });

  it('refuses a hostile table name before connecting or running any SQL', () => {
    // Port 1 has no server: reaching it would fail differently.
    const make = () =>
      new MySqlSink('mysql://root@127.0.0.1:1/test', {
        table: 'metric_events`; DROP TABLE users; --',
        poolSize: 1,
        createTable: true,
      });
    expect(make).toThrow(InvalidIdentifierError);
    expect(make).toThrow(/table name/);
  });

  it('rejects writes after close', async () => {
    const { sink } = await preparedSink('load-data', 'closed');
    await sink.close();
    await expect(sink.write([chatRow()])).rejects.toThrow(/closed/);
  });

  it('reports healthy when the server answers', async () => {
    const { sink } = await preparedSink('load-data', 'health');
    await expect(sink.checkHealth()).resolves.toBeUndefined();
  });
});
