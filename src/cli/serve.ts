/**
 * `llamonitor serve`: the REST API over the configured sink, until SIGINT or
 * SIGTERM. It only reads: the sink is never prepared, migrated or written.
 */
import { createSink } from '../config/create-sink.js';
import { redactSecrets } from '../secrets.js';
import { ServeConfigError, startServer } from '../serve/server.js';
import type { Sink } from '../sinks/sink.js';
import { EXIT_USAGE, loadOptions, type Env, type Out } from './commands.js';

export const DEFAULT_SERVE_PORT = 8080;
export const DEFAULT_SERVE_HOST = '127.0.0.1';

export async function serve(
  env: Env,
  out: Out,
  host: string | undefined,
  port: string | undefined,
  /** Resolves when the server should stop; by default the first SIGINT or SIGTERM. */
  stopped: Promise<unknown> = signalled(),
): Promise<number> {
  const portNumber = port === undefined ? DEFAULT_SERVE_PORT : Number(port);
  if (!/^\d{1,5}$/.test(port ?? '0') || portNumber > 65_535) {
    out(`llamonitor serve: --port ${port} is not a port number (0 to 65535; 0 picks a free one)`);
    return EXIT_USAGE;
  }
  const options = loadOptions(env, out, { createTable: false });
  if (!options) return 1;
  const target = `${options.target.kind} ${options.target.display}, table ${options.table}`;
  const secrets = options.target.secrets ?? [];
  let sink: Sink | undefined;
  try {
    sink = await createSink(options);
    const queries = sink.callQueries();
    const server = await startServer({
      host: host ?? DEFAULT_SERVE_HOST,
      port: portNumber,
      token: env.LLAMONITOR_SERVE_TOKEN,
      queries,
      target,
      describeError: (error) =>
        redactSecrets(error instanceof Error ? error.message : String(error), secrets),
    });
    out(`[ok]   llamonitor serve: ${server.url}/api/summary reading ${target} (read-only; Ctrl-C stops it)`);
    await stopped;
    await server.close();
    await queries.close();
    out('[ok]   llamonitor serve stopped');
    return 0;
  } catch (error) {
    if (error instanceof ServeConfigError) {
      out(`[fail] ${error.message}`);
      return EXIT_USAGE;
    }
    out(
      `[fail] serve ${target}: ${redactSecrets(error instanceof Error ? error.message : String(error), secrets)}`,
    );
    return 1;
  } finally {
    await sink?.close().catch(() => undefined);
  }
}

function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
