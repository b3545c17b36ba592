/**
 * A sink that keeps rows in memory, for the exporter's lifecycle tests only:
 * it can be made slow, failing or hanging. The real sinks have their own tests
 * against real servers and files.
 */
import type { MetricEvent } from '../../src/schema/columns.js';
import type { SchemaGaps, Sink } from '../../src/sinks/sink.js';
import {
  MaintenanceBusyError,
  type PruneReport,
  type PruneRequest,
  type RepriceReport,
} from '../../src/sinks/maintenance.js';

export class MemorySink implements Sink {
  readonly kind = 'parquet' as const;
  readonly target = 'memory://test';
  readonly rows: MetricEvent[] = [];
  writes = 0;
  concurrent = 0;
  maxConcurrent = 0;
  flushes = 0;
  closed = false;
  /** Milliseconds each write takes. */
  delayMillis = 0;
  /** Writes that fail before one succeeds; Infinity fails every write. */
  failuresLeft = 0;
  /** Writes never settle. */
  hang = false;
  /** close() never settles. */
  hangOnClose = false;
  /** Every prune asked for, in order. */
  readonly prunes: PruneRequest[] = [];
  /** Prunes find the maintenance lease held by another run. */
  maintenanceBusy = false;
  /** Runs inside each write (to see the context it runs in). */
  onWrite: (() => void) | undefined;

  async prepare(): Promise<void> {}

  async write(rows: readonly MetricEvent[]): Promise<void> {
    this.writes++;
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      this.onWrite?.();
      if (this.hang) await new Promise(() => {});
      if (this.delayMillis > 0) await new Promise((r) => setTimeout(r, this.delayMillis));
      if (this.failuresLeft > 0) {
        this.failuresLeft--;
        throw new Error('connection refused (test)');
      }
      this.rows.push(...rows);
    } finally {
      this.concurrent--;
    }
  }

  async checkHealth(): Promise<void> {
    if (this.failuresLeft > 0) throw new Error('unhealthy (test)');
  }

  async readBack(eventIds: readonly string[]): Promise<MetricEvent[]> {
    return this.rows.filter((r) => eventIds.includes(r.event_id));
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    const keep = this.rows.filter((r) => !eventIds.includes(r.event_id));
    this.rows.splice(0, this.rows.length, ...keep);
  }

  async migrate(_dryRun: boolean): Promise<readonly string[]> {
    return [];
  }

  async schemaGaps(): Promise<SchemaGaps> {
    return { columns: [], indexes: [] };
  }

  callQueries(): never {
    throw new Error('the memory sink keeps rows for lifecycle tests; it answers no read queries');
  }

  async reprice(): Promise<RepriceReport> {
    throw new Error('the memory sink keeps rows for lifecycle tests; it re-prices nothing');
  }

  /** Removes the rows older than `before`, as the SQL sinks do (no batches: memory). */
  async prune(request: PruneRequest): Promise<PruneReport> {
    this.prunes.push(request);
    if (this.maintenanceBusy) throw new MaintenanceBusyError(this.target);
    const before = request.before.getTime();
    const keep = this.rows.filter((r) => Date.parse(r.timestamp) >= before);
    const removed = this.rows.length - keep.length;
    if (!request.dryRun) this.rows.splice(0, this.rows.length, ...keep);
    return { rows: removed, partitions: [], stoppedEarly: false };
  }

  async flush(): Promise<void> {
    this.flushes++;
  }

  async close(): Promise<void> {
    if (this.hangOnClose) await new Promise(() => {});
    this.closed = true;
  }
}
