/**
 * `/api/live`'s source: one watcher of the store (sinks/call-queries.ts
 * `watch()`), polled every second while at least one client listens, its new
 * rows handed to each client whose filter they pass. A client that cannot
 * keep up is dropped by its transport (live-stream.ts), never buffered without
 * bound here: a client's rows are written at once or not at all.
 */
import type { CallQueries, CallRow, RowWatcher } from '../sinks/call-queries.js';

export const LIVE_POLL_MILLIS = 1000;

export interface LiveFilter {
  readonly model?: string | undefined;
  readonly session?: string | undefined;
}

export interface LiveClient {
  readonly filter: LiveFilter;
  /** New rows that pass the filter, oldest first. */
  send(rows: readonly CallRow[]): void;
  /** The store could not be read: the message says why (the feed goes on trying). */
  failed(message: string): void;
}

export class LiveFeed {
  private readonly clients = new Set<LiveClient>();
  private watcher: RowWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Settles once the watcher has taken its bearings: rows stored after that are news. */
  private bearings: Promise<void> | undefined;
  private polling = false;

  constructor(
    private readonly queries: CallQueries,
    private readonly describeError: (error: unknown) => string,
    private readonly pollMillis = LIVE_POLL_MILLIS,
  ) {}

  /** Adds a client; resolves once rows stored from now on will reach it. */
  async subscribe(client: LiveClient): Promise<void> {
    this.clients.add(client);
    if (this.watcher === undefined) {
      const watcher = this.queries.watch();
      this.watcher = watcher;
      this.bearings = watcher.poll().then(
        () => undefined,
        (error: unknown) => client.failed(this.describeError(error)),
      );
      this.timer = setInterval(() => void this.poll(), this.pollMillis);
      this.timer.unref();
    }
    await this.bearings;
  }

  unsubscribe(client: LiveClient): void {
    this.clients.delete(client);
    if (this.clients.size === 0) void this.stop();
  }

  /** Stops polling and forgets every client. */
  async close(): Promise<void> {
    this.clients.clear();
    await this.stop();
  }

  get listening(): number {
    return this.clients.size;
  }

  private async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const watcher = this.watcher;
    this.watcher = undefined;
    this.bearings = undefined;
    await watcher?.close();
  }

  private async poll(): Promise<void> {
    const watcher = this.watcher;
    if (watcher === undefined || this.polling) return;
    this.polling = true;
    try {
      await this.bearings;
      const rows = await watcher.poll();
      if (rows.length === 0 || watcher !== this.watcher) return;
      for (const client of this.clients) {
        const passing = rows.filter((row) => passes(row, client.filter));
        if (passing.length > 0) client.send(passing);
      }
    } catch (error) {
      const message = this.describeError(error);
      for (const client of this.clients) client.failed(message);
    } finally {
      this.polling = false;
    }
  }
}

function passes(row: CallRow, filter: LiveFilter): boolean {
  return (
    (filter.model === undefined || row.model === filter.model) &&
    (filter.session === undefined || row.session_id === filter.session)
  );
}
