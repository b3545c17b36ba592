// npm run example:postgres
//
// The PostgreSQL sink: LLAMONITOR_URL (default: the local server, postgres://postgres@127.0.0.1:5432/test),
// a table of this run's own that the exporter creates with its indexes, and a query of it with `pg`;
// the table is dropped at the end (set LLAMONITOR_TABLE to keep one). The application is a support bot
// on the AI SDK 6, pointed at a fake OpenAI server on 127.0.0.1.
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { MetricEventsSpanProcessor } from 'llamonitor-otel';
import pg from 'pg';
import { startFakeLlmServer } from './support/fake-llm-server.mjs';
import { runSupportBot } from './support/support-bot.mjs';
import { exampleServiceName, showStoredRows, sinkExampleDestination } from './support/stored-rows.mjs';

const destination = sinkExampleDestination('postgres', 'postgres://postgres@127.0.0.1:5432/test');
const serviceName = exampleServiceName('postgres');

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': serviceName }),
  spanProcessors: [
    new MetricEventsSpanProcessor({
      url: destination.url,
      table: destination.table, // created with its six indexes if missing (createTable: true)
      poolSize: 2, // connections, and writes in flight at once
    }),
  ],
});
provider.register();

const server = await startFakeLlmServer();
await runSupportBot(server);
await provider.shutdown(); // flushes and closes the pool
await server.close();

// Tokens and images per session, with the database's own client.
const client = new pg.Client({ connectionString: destination.url });
await client.connect();
const { rows } = await client.query(
  `SELECT session_id, count(*)::int AS calls, sum(input_tokens)::int AS input_tokens,
          sum(output_tokens)::int AS output_tokens, sum(image_count)::int AS images
     FROM ${destination.table}
    WHERE operation_type = 'llm_call' AND service_name = $1
    GROUP BY session_id`,
  [serviceName],
);
await client.end();

await showStoredRows(destination, serviceName); // prints the rows, then drops the example's table
console.log('Model calls, tokens and images per session, from PostgreSQL:');
console.table(rows);
