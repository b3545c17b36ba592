/** The SQL the MySQL sink derives from the column table, checked without a server. */
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { INDEXES, INSERT_COLUMNS, type MetricEvent } from '../../src/schema/columns.js';
import { mysqlType } from '../../src/sinks/mysql/column-types.js';
import { chooseBulkPath } from '../../src/sinks/mysql/capabilities.js';
import { createTableSql } from '../../src/sinks/mysql/ddl.js';
import {
  createTupleEncoder,
  insertPrefix,
  planInsertStatements,
} from '../../src/sinks/mysql/insert-statements.js';
import { loadDataSql } from '../../src/sinks/mysql/load-data-writer.js';
import { chatRow } from './mysql-support.js';

const encodeTuple = createTupleEncoder((value) => mysql.escape(value as string));

describe('MySQL statements', () => {
  it('creates the table with every column of the column table, the primary key and every index', () => {
    const sql = createTableSql('metric_events');
    for (const column of INSERT_COLUMNS) expect(sql).toContain(`\`${column.name}\` ${mysqlType(column)}`);
    expect(sql).toContain('PRIMARY KEY (`event_id`)');
    expect(sql.match(/\bINDEX `idx_/g)).toHaveLength(INDEXES.length);
    expect(sql).toMatch(/^CREATE TABLE IF NOT EXISTS `metric_events`/);
    expect(sql).toMatch(/ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci$/);
  });

  it('loads data as utf8mb4, skipping rows already stored, into the listed columns', () => {
    const sql = loadDataSql('metric_events');
    expect(sql).toContain(
      "LOAD DATA LOCAL INFILE 'llamonitor-rows' IGNORE INTO TABLE `metric_events` CHARACTER SET utf8mb4",
    );
    expect(sql).toContain(`(${INSERT_COLUMNS.map((c) => `\`${c.name}\``).join(', ')})`);
    expect(sql).not.toContain('created_at');
  });

  it('encodes a row with the driver escaping text, JSON as a string, DATETIME text and exact int64', () => {
    const row = chatRow({
      operation_name: "it's \\ fine",
      timestamp: '2026-01-02T03:04:05.123456Z',
      image_total_pixels: 2n ** 62n,
      custom_attributes: { model: "o'neil" },
      parent_span_id: null,
    });
    const tuple = encodeTuple(row);
    expect(tuple).toContain("'it\\'s \\\\ fine'");
    expect(tuple).toContain("'2026-01-02 03:04:05.123456'");
    expect(tuple).toContain(',4611686018427387904,');
    expect(tuple).toContain(`'{\\"model\\":\\"o\\'neil\\"}'`);
    expect(tuple).toContain(',NULL,');
  });

  it('never plans a statement above the byte budget, and keeps every row in order', () => {
    const rows = Array.from({ length: 200 }, (_, i) => chatRow({ error: 'é'.repeat(i * 37) }));
    const prefix = insertPrefix('metric_events');
    const maxBytes = 20_000;
    const statements = [...planInsertStatements(rows, prefix, encodeTuple, maxBytes, maxBytes)];
    expect(statements.length).toBeGreaterThan(10);
    for (const statement of statements)
      expect(Buffer.byteLength(statement.sql)).toBeLessThanOrEqual(maxBytes);
    expect(statements.reduce((sum, s) => sum + s.rows, 0)).toBe(200);
    const ids = statements.flatMap((s) => [...s.sql.matchAll(/\('([0-9a-f-]{36})'/g)].map((m) => m[1]));
    expect(ids).toEqual(rows.map((r) => r.event_id));
  });

  it('refuses a row too large for any statement, naming it and max_allowed_packet', () => {
    const big: MetricEvent = chatRow({ error: 'x'.repeat(5000) });
    const plan = () => [...planInsertStatements([big], insertPrefix('t'), encodeTuple, 4000, 4000)];
    expect(plan).toThrow(new RegExp(`row ${big.event_id} needs \\d+ bytes.*max_allowed_packet`));
  });

  it('gives a row larger than the statement budget but within max_allowed_packet a statement of its own', () => {
    const rows = [chatRow(), chatRow({ custom_attributes: { big: 'x'.repeat(50_000) } }), chatRow()];
    const statements = [...planInsertStatements(rows, insertPrefix('t'), encodeTuple, 20_000, 100_000)];
    expect(statements.map((s) => s.rows)).toEqual([1, 1, 1]);
    expect(Buffer.byteLength(statements[1]!.sql)).toBeGreaterThan(50_000);
  });

  it('uses LOAD DATA only where both the URL and the server allow local_infile', () => {
    expect(chooseBulkPath(true, true).bulkPath).toBe('load-data');
    expect(chooseBulkPath(false, true)).toMatchObject({ bulkPath: 'insert', reason: /local_infile=OFF/ });
    expect(chooseBulkPath(true, false)).toMatchObject({ bulkPath: 'insert', reason: /local-infile=0/ });
  });
});
