// Where an example writes, and what it prints afterwards: the rows it stored, read back with each
// sink's own client (DuckDB for Parquet files, pg for PostgreSQL, mysql2 for MySQL/MariaDB), so the
// examples also show how to query the table.
//
// LLAMONITOR_URL picks the sink as it does for the exporter (default: the example's own). A database
// example writes to a table of its own and drops it at the end, unless LLAMONITOR_TABLE names one
// to keep. Rows of this run are told from earlier ones by the service name, unique per run.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The sink an example writes to: its URL, its table, and whether the example drops the table at the end. */
export function exampleDestination(defaultUrl = './llamonitor-data') {
  const url = process.env.LLAMONITOR_URL || defaultUrl;
  const kind = /^postgres(ql)?:\/\//.test(url)
    ? 'postgres'
    : /^(mysql|mariadb):\/\//.test(url)
      ? 'mysql'
      : 'parquet';
  const keep = kind === 'parquet' || Boolean(process.env.LLAMONITOR_TABLE);
  const table =
    process.env.LLAMONITOR_TABLE ||
    (kind === 'parquet' ? 'metric_events' : `llamonitor_example_${process.pid}`);
  return { url, kind, table, dropAfter: !keep };
}

/** The destination of a sink example: LLAMONITOR_URL may move it, not change its kind. */
export function sinkExampleDestination(kind, defaultUrl) {
  const destination = exampleDestination(defaultUrl);
  if (destination.kind !== kind) {
    throw new Error(
      `this example shows the ${kind} sink: LLAMONITOR_URL=${destination.url} is a ${destination.kind} URL`,
    );
  }
  return destination;
}

/** The folder of a Parquet destination (a file:// URL or a path). */
export function parquetFolder({ url }) {
  return url.startsWith('file://') ? fileURLToPath(url) : resolve(url);
}

/** A service name of this run's own: `service.name` lands in custom_attributes.service_name of every row. */
export function exampleServiceName(example) {
  return `llamonitor-example-${example}-${Date.now().toString(36)}`;
}

const COLUMNS = `operation_name, operation_type, session_id, span_id, parent_span_id, text_char_count, text_word_count,
  image_count, image_width, image_height, image_format, image_file_size_bytes, error, error_type`;

async function parquetRows({ url, table }, serviceName) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const folder = parquetFolder({ url });
  const files = `read_parquet('${folder}/${table}/**/*.parquet', hive_partitioning = true, union_by_name = true)`;
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const reader = await duck.runAndReadAll(
    `SELECT ${COLUMNS}, text_custom_metrics::VARCHAR AS text_custom_metrics, epoch_us("timestamp") AS start
       FROM ${files}
      WHERE (custom_attributes->>'service_name') = $service ORDER BY "timestamp"`,
    { service: serviceName },
  );
  return {
    where: `${folder}/${table}/ (Parquet, read with DuckDB)`,
    rows: reader.getRowObjectsJson().map((row) => ({
      ...row,
      text_custom_metrics: JSON.parse(row.text_custom_metrics ?? 'null'),
    })),
  };
}

async function postgresRows({ url, table, dropAfter }, serviceName) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(
      `SELECT ${COLUMNS}, text_custom_metrics, extract(epoch FROM "timestamp") * 1000000 AS start FROM ${table}
        WHERE (custom_attributes->>'service_name') = $1 ORDER BY "timestamp"`,
      [serviceName],
    );
    if (dropAfter) await client.query(`DROP TABLE IF EXISTS ${table}`);
    return { where: `PostgreSQL table ${table}${dropAfter ? ' (dropped now)' : ''}`, rows: result.rows };
  } finally {
    await client.end();
  }
}

async function mysqlRows({ url, table, dropAfter }, serviceName) {
  const { default: mysql } = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: url.replace(/^mariadb:/, 'mysql:') });
  try {
    const [rows] = await connection.query(
      `SELECT ${COLUMNS}, text_custom_metrics, UNIX_TIMESTAMP(\`timestamp\`) * 1000000 AS start FROM ${table}
        WHERE JSON_UNQUOTE(JSON_EXTRACT(custom_attributes, '$.service_name')) = ? ORDER BY \`timestamp\``,
      [serviceName],
    );
    if (dropAfter) await connection.query(`DROP TABLE IF EXISTS ${table}`);
    return {
      where: `MySQL/MariaDB table ${table}${dropAfter ? ' (dropped now)' : ''}`,
      // MariaDB's JSON is text: parse it as MySQL's driver does for MySQL 8.
      rows: rows.map((row) => ({
        ...row,
        text_custom_metrics:
          typeof row.text_custom_metrics === 'string'
            ? JSON.parse(row.text_custom_metrics)
            : row.text_custom_metrics,
      })),
    };
  } finally {
    await connection.end();
  }
}

/** Start order; rows that started in the same instant (the AI SDK stamps milliseconds) parent first. */
function inStartOrder(rows) {
  const byId = new Map(rows.map((row) => [row.span_id, row]));
  const depth = (row) => {
    let d = 0;
    for (let p = row.parent_span_id; p && byId.has(p) && d < rows.length; d++) p = byId.get(p).parent_span_id;
    return d;
  };
  return rows.sort((a, b) => Number(a.start) - Number(b.start) || depth(a) - depth(b));
}

/** The rows this run stored, in start order, with a line that says where they are. */
export async function readStoredRows(destination, serviceName) {
  const read = { parquet: parquetRows, postgres: postgresRows, mysql: mysqlRows }[destination.kind];
  const { where, rows } = await read(destination, serviceName);
  return { where, rows: inStartOrder(rows) };
}

function wrapped(tokens) {
  return tokens === undefined ? '' : `(${tokens})`;
}

function imageOf(row) {
  if (!row.image_count) return '';
  const size = row.image_width == null ? '?' : `${row.image_width}x${row.image_height}`;
  return `${size} ${row.image_format ?? '?'} ${row.image_file_size_bytes ?? '?'} B`;
}

/** Reads back what this run stored, prints it as a table, and returns the rows. */
export async function showStoredRows(destination, serviceName) {
  const { where, rows } = await readStoredRows(destination, serviceName);
  const ids = new Map(rows.map((row, index) => [row.span_id, `#${index}`]));
  console.table(
    rows.map((row) => {
      const metrics = row.text_custom_metrics ?? {};
      return {
        operation: row.operation_name,
        type: row.operation_type,
        session: row.session_id,
        // #n: the row above; app: a span of the application's own, which has no row.
        parent: row.parent_span_id ? (ids.get(row.parent_span_id) ?? 'app') : '',
        // A wrapper repeats the usage of its model calls: shown in parentheses, stored as aggregate_*.
        in_tokens: metrics.input_tokens ?? wrapped(metrics.aggregate_input_tokens),
        out_tokens: metrics.output_tokens ?? wrapped(metrics.aggregate_output_tokens),
        chars: row.text_char_count ?? '',
        words: row.text_word_count ?? '',
        image: imageOf(row),
        error: row.error ? `${row.error_type ?? 'error'}: ${row.error}` : '',
      };
    }),
  );
  console.log(`stored ${rows.length} rows in ${where}`);
  return rows;
}
