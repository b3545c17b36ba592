// npm run example:parquet
//
// The Parquet sink, the default: no server, rows in Hive-partitioned Parquet files
// (<folder>/<table>/date=YYYY-MM-DD/part-*.parquet) that DuckDB, Spark or Trino read as one table.
// Here the plain exporter in a BatchSpanProcessor, a `file://` URL, and a query of the files with DuckDB.
// The application is a support bot on the AI SDK 6, pointed at a fake OpenAI server on 127.0.0.1.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanExporter } from 'llamonitor-otel';
import { startFakeLlmServer } from './support/fake-llm-server.mjs';
import { runSupportBot } from './support/support-bot.mjs';
import {
  exampleServiceName,
  parquetFolder,
  showStoredRows,
  sinkExampleDestination,
} from './support/stored-rows.mjs';

const destination = sinkExampleDestination('parquet', pathToFileURL(resolve('llamonitor-data')).href);
const serviceName = exampleServiceName('parquet');

const exporter = new MetricEventsSpanExporter({
  url: destination.url, // file:///…/llamonitor-data, or a plain path
  table: destination.table, // the dataset folder: metric_events
  parquetFileRows: 100_000, // rows per file at most
  parquetFileAgeMillis: 60_000, // an open file is closed (and visible) after a minute at most
});
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
provider.register();

const server = await startFakeLlmServer();
await runSupportBot(server);
await provider.shutdown(); // flushes: the open file is closed and renamed into place
await server.close();

await showStoredRows(destination, serviceName);

// The dataset is one table to DuckDB (this run's rows picked by their service name).
const duck = await (await DuckDBInstance.create(':memory:')).connect();
const rows = await duck.runAndReadAll(
  `SELECT session_id, count(*)::INTEGER AS calls,
          sum(input_tokens)::INTEGER AS input_tokens,
          sum(output_tokens)::INTEGER AS output_tokens,
          sum(image_count)::INTEGER AS images
     FROM read_parquet('${parquetFolder(destination)}/${destination.table}/**/*.parquet',
                       hive_partitioning = true, union_by_name = true)
    WHERE operation_type = 'llm_call' AND service_name = $service
    GROUP BY session_id`,
  { service: serviceName },
);
console.log('Model calls, tokens and images per session, from DuckDB:');
console.table(rows.getRowObjectsJson());
