/**
 * The application-side handle of the token-count worker: starts it on the
 * first row that needs an estimate, waits a bounded time for its counts
 * (rows it does not answer for in time keep their null tokens), lets the
 * process exit while it is idle, and stops it after a while without work so
 * that its tokenizers' memory (about 75 MB for o200k_base) is given back.
 */
import { Worker } from 'node:worker_threads';
import {
  scaledCount,
  type EstimatedTokens,
  type TokenizerName,
  type TokensToEstimate,
} from '../mapping/token-estimate.js';

/** One batch of rows to count: the texts (the heads the rows measured) and their tokenizers. */
export interface CountRequest {
  readonly id: number;
  readonly items: readonly {
    readonly tokenizer: TokenizerName;
    readonly input: string | undefined;
    readonly output: string | undefined;
  }[];
}

/** Per item, the input's and the output's counts (null: not counted); or why nothing was. */
export type CountReply =
  | { readonly id: number; readonly counts: readonly (readonly [number | null, number | null])[] }
  | { readonly id: number; readonly error: string };

const WORKER_SCRIPT = new URL('./token-worker.js', import.meta.url);

/**
 * Characters of text one export sends the worker at most. A common export
 * sends far less (512 streamed chats of 3 KB: 1.5 M); the cap keeps an export
 * of spans near maxMeasuredBytes each from copying hundreds of megabytes to
 * the worker, and the counting within the wait (about 0.3 s for the cap on
 * this machine's class). Rows past it keep their null tokens.
 */
export const MAX_ESTIMATED_CHARS_PER_EXPORT = 16 * 1024 * 1024;

/** Without a request for this long, the worker is stopped and its memory given back. */
const IDLE_STOP_MILLIS = 5 * 60_000;

interface Waiting {
  readonly needs: readonly TokensToEstimate[];
  readonly resolve: (counts: (EstimatedTokens | undefined)[]) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class TokenEstimator {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly script: URL = WORKER_SCRIPT) {}

  /**
   * The counts of each row's texts, scaled to the whole text where the row
   * measured a head; undefined for all when the worker does not answer
   * within `timeoutMillis`. Rejects when the worker fails.
   */
  estimate(
    needs: readonly TokensToEstimate[],
    timeoutMillis: number,
  ): Promise<(EstimatedTokens | undefined)[]> {
    const id = this.nextId++;
    const request: CountRequest = {
      id,
      items: needs.map((need) => ({
        tokenizer: need.tokenizer,
        input: need.input?.text,
        output: need.output?.text,
      })),
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.unrefWhenIdle();
        resolve(needs.map(() => undefined));
      }, timeoutMillis);
      this.waiting.set(id, { needs, resolve, reject, timer });
      const worker = this.worker ?? this.start();
      worker.ref(); // an answer awaited keeps the process alive
      worker.postMessage(request);
      this.armIdleStop();
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the token estimator was stopped'));
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    // execArgv: [] keeps the application's --import / --require (llamonitor-otel/register among them) out of it.
    const worker = new Worker(this.script, { execArgv: [] });
    worker.on('message', (reply: CountReply) => this.settle(reply));
    worker.on('error', (error) => this.fail(worker, error));
    worker.on('exit', (code) => this.fail(worker, new Error(`the token-count worker exited (${code})`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private settle(reply: CountReply): void {
    const waiting = this.waiting.get(reply.id);
    if (waiting === undefined) return; // answered after its timeout
    this.waiting.delete(reply.id);
    clearTimeout(waiting.timer);
    this.unrefWhenIdle();
    if ('error' in reply) {
      waiting.reject(new Error(`the token-count worker failed: ${reply.error}`));
      return;
    }
    waiting.resolve(
      waiting.needs.map((need, i) => {
        const [input, output] = reply.counts[i] ?? [null, null];
        return {
          input: input === null || need.input === undefined ? undefined : scaledCount(input, need.input),
          output: output === null || need.output === undefined ? undefined : scaledCount(output, need.output),
        };
      }),
    );
  }

  private fail(worker: Worker, error: Error): void {
    if (this.worker !== worker) return; // a stopped worker's late exit
    this.worker = undefined;
    this.failAll(error);
  }

  private failAll(error: Error): void {
    for (const waiting of this.waiting.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.waiting.clear();
  }

  private unrefWhenIdle(): void {
    if (this.waiting.size === 0) this.worker?.unref();
  }

  private armIdleStop(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.waiting.size > 0) return this.armIdleStop();
      const worker = this.worker;
      this.worker = undefined;
      void worker?.terminate();
    }, IDLE_STOP_MILLIS);
    this.idleTimer.unref();
  }
}
