/**
 * The application-side handle of the conversion worker: starts it on first
 * use, keeps the process alive only while a conversion is awaited (so an
 * idle sink never holds the process open), and restarts it after a crash.
 */
import { Worker } from 'node:worker_threads';
import type { ConversionResult } from './segment-conversion.js';
import type {
  ConvertMessage,
  FollowMessage,
  FromWorker,
  ToWorker,
  WorkerSettings,
} from './worker-protocol.js';

export class ConversionError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ConversionError';
  }
}

interface Pending {
  resolve(result: ConversionResult): void;
  reject(error: Error): void;
}

export class ConversionWorker {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly script: URL,
    private readonly settings: WorkerSettings,
  ) {}

  /** Lets the worker read a growing segment ahead of its conversion. */
  follow(progress: Omit<FollowMessage, 'type'>): void {
    this.post({ ...progress, type: 'follow' });
  }

  /** Drops what the worker read of a segment deleted without conversion. */
  forget(segmentPath: string): void {
    this.worker?.postMessage({ type: 'forget', segmentPath } satisfies ToWorker);
  }

  convert(job: Omit<ConvertMessage, 'type' | 'id'>): Promise<ConversionResult> {
    const id = this.nextId++;
    return new Promise<ConversionResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ ...job, type: 'convert', id });
      this.worker?.ref();
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private post(message: ToWorker): void {
    (this.worker ?? this.start()).postMessage(message);
  }

  private start(): Worker {
    // execArgv: [] keeps the application's --import / --require (llamonitor-otel/register among them) out of it.
    const worker = new Worker(this.script, { execArgv: [], workerData: this.settings });
    worker.on('message', (message: FromWorker) => this.settle(message));
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) =>
      this.fail(worker, new ConversionError(`the conversion worker exited (${code})`)),
    );
    worker.unref(); // after the listeners: adding a 'message' listener refs the worker's port again
    this.worker = worker;
    return worker;
  }

  private settle(message: FromWorker): void {
    const pending = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (!pending) return;
    if (message.type === 'converted') pending.resolve(message.result);
    else pending.reject(new ConversionError(message.message, message.code));
  }

  /** A crashed worker takes its conversions with it; the segments stay, and the next call starts a new worker. */
  private fail(worker: Worker, error: Error): void {
    if (this.worker !== undefined && this.worker !== worker) return; // a replaced worker's late exit
    this.worker = undefined;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
