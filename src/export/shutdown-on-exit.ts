/**
 * `shutdownOnExit(provider)`: the exit hooks every setup needs, in one line.
 * A tracer provider, NodeSDK or span processor keeps spans in memory (the
 * BatchSpanProcessor's queue, Parquet's open file) until it is shut down, and
 * nothing in OpenTelemetry shuts it down when the process ends: an
 * application that finishes normally, or that Ctrl-C or a `kill` ends, loses
 * them. This shuts it down on `beforeExit` (the event loop ran dry) and on
 * SIGINT and SIGTERM, then lets the signal end the process as it would have.
 *
 * `process.exit()` and an uncaught exception end the process without
 * `beforeExit`: nothing asynchronous can run after them, so the function this
 * returns is for the application to await on those paths itself.
 */
import { diag } from '@opentelemetry/api';

/** What can be shut down: a NodeTracerProvider, BasicTracerProvider, NodeSDK or span processor. */
export interface ShutsDown {
  shutdown(): Promise<unknown>;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Shuts `target` down when the process is about to end on its own, or on
 * SIGINT or SIGTERM; a second signal while that runs ends the process at once.
 * Returns the shutdown (safe to call more than once, never rejects), for
 * `await shutdown()` before `process.exit()` or in an uncaughtException handler.
 */
export function shutdownOnExit(target: ShutsDown): () => Promise<void> {
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shuttingDown ??= target.shutdown().then(
      () => undefined,
      (error: unknown) => diag.error(`llamonitor-otel: shutdown failed: ${(error as Error).message}`),
    );
    return shuttingDown;
  };

  for (const signal of SIGNALS) {
    let received = false;
    const onSignal = () => {
      if (received) return endBySignal(signal, onSignal); // a second Ctrl-C: the user will not wait
      received = true;
      void shutdown().finally(() => endBySignal(signal, onSignal));
    };
    process.on(signal, onSignal);
  }
  process.once('beforeExit', () => void shutdown());
  return shutdown;
}

/** Gives the signal its usual effect: with no other listener left, the process ends as the signal would have ended it. */
function endBySignal(signal: NodeJS.Signals, listener: () => void): void {
  process.removeListener(signal, listener);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
