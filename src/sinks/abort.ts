/**
 * Giving up on I/O when the caller's deadline passes (see Sink.write): a
 * connection that a silent network left waiting is destroyed, not kept busy
 * until TCP gives up.
 */
import { Socket } from 'node:net';

/** The error an aborted signal carries, as an Error. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}

/**
 * Settles like `promise`, or rejects with the signal's reason once it aborts.
 * A value that still comes after that is handed to `discard` (a pooled connection goes back).
 */
export function unlessAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  discard: (value: T) => void,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.then(discard, () => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) discard(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(error as Error);
      },
    );
  });
}

/**
 * Destroys `socket` with the signal's reason when the signal aborts while
 * `work` runs: the driver then fails the statement in progress with that reason.
 */
export async function destroyOnAbort<T>(
  socket: Socket | undefined,
  signal: AbortSignal | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (!signal || !socket) return work();
  if (signal.aborted) throw abortError(signal);
  const onAbort = () => socket.destroy(abortError(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The socket under a pooled connection: pg's PoolClient and mysql2's promise
 * PoolConnection both keep it on `connection.stream`. Undefined if a driver hides it.
 */
export function driverSocketOf(connection: object): Socket | undefined {
  const stream = (connection as { connection?: { stream?: unknown } }).connection?.stream;
  return stream instanceof Socket ? stream : undefined;
}
