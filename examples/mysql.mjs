// npm run example:mysql
//
// The MySQL/MariaDB sink: LLAMONITOR_URL (default: the local server, mysql://root@127.0.0.1:3306/test),
// a table of this run's own that the exporter creates with its indexes, and a query of it with `mysql2`;
// the table is dropped at the end (set LLAMONITOR_TABLE to keep one). Here the exporter is configured
// from the environment (fromEnv), with the options given in code winning. The application is a support
// bot on the AI SDK 6, pointed at a fake OpenAI server on 127.0.0.1.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanExporter, MetricEventsSpanProcessor } from 'llamonitor-otel';
import mysql from 'mysql2/promise';
import { startFakeLlmServer } from './support/fake-llm-server.mjs';
import { runSupportBot } from './support/support-bot.mjs';
import { exampleServiceName, showStoredRows, sinkExampleDestination } from './support/stored-rows.mjs';

const destination = sinkExampleDestination('mysql', 'mysql://root@127.0.0.1:3306/test');
const serviceName = exampleServiceName('mysql');

// LLAMONITOR_* variables, then these options on top.
const exporter = MetricEventsSpanExporter.fromEnv({ url: destination.url, table: destination.table });
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [new MetricEventsSpanProcessor({ exporter })],
});
provider.register();

const server = await startFakeLlmServer();
await runSupportBot(server);
await provider.shutdown(); // flushes and closes the pool
await server.close();

// Tokens and images per session, with the database's own client.
const connection = await mysql.createConnection({ uri: destination.url.replace(/^mariadb:/, 'mysql:') });
const [rows] = await connection.query(
  `SELECT session_id, count(*) AS calls,
          CAST(sum(input_tokens) AS SIGNED) AS input_tokens,
          CAST(sum(output_tokens) AS SIGNED) AS output_tokens,
          CAST(sum(image_count) AS SIGNED) AS images
     FROM ${destination.table}
    WHERE operation_type = 'llm_call' AND service_name = ?
    GROUP BY session_id`,
  [serviceName],
);
await connection.end();

await showStoredRows(destination, serviceName); // prints the rows, then drops the example's table
console.log('Model calls, tokens and images per session, from MySQL/MariaDB:');
console.table(rows);
