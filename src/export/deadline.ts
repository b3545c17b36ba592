/**
 * Deadlines and waits. Their timers hold the process open, but only until the
 * deadline: an application that ends while rows are being retried or spilled
 * keeps running long enough to store them.
 */

export class DeadlineError extends Error {
  constructor(what: string, millis: number) {
    super(`${what} did not finish within ${Math.max(0, Math.round(millis))} ms`);
    this.name = 'DeadlineError';
  }
}

/** Settles like `promise`, or rejects with DeadlineError after `millis`; the promise itself runs on. */
export function withDeadline<T>(promise: Promise<T>, millis: number, what: string): Promise<T> {
  const deadline = new Deadline(Date.now() + millis);
  return deadline.race(promise, what).finally(() => deadline.dispose());
}

/**
 * A moment that can be brought forward (shutdown does, for writes in flight):
 * whatever races it or sleeps until it learns at once.
 */
export class Deadline {
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private at: number) {
    this.arm();
  }

  get millisLeft(): number {
    return this.at - Date.now();
  }

  /** Brings the deadline forward to `at` (never later). */
  lower(at: number): void {
    if (at >= this.at) return;
    this.at = at;
    this.arm();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Settles like `promise`, or rejects with DeadlineError when the deadline passes first. */
  race<T>(promise: Promise<T>, what: string): Promise<T> {
    const started = Date.now();
    if (this.millisLeft <= 0) {
      promise.catch(() => {});
      return Promise.reject(new DeadlineError(what, 0));
    }
    return new Promise<T>((resolve, reject) => {
      const expire = () => reject(new DeadlineError(what, Date.now() - started));
      this.listeners.add(expire);
      promise.then(
        (value) => {
          this.listeners.delete(expire);
          resolve(value);
        },
        (error: unknown) => {
          this.listeners.delete(expire);
          reject(error as Error);
        },
      );
    });
  }

  /** Waits `millis`, or less when the deadline comes first. */
  sleep(millis: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, Math.min(millis, this.millisLeft)));
      const listeners = this.listeners;
      function done() {
        clearTimeout(timer);
        listeners.delete(done);
        resolve();
      }
      listeners.add(done);
    });
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.expire(), Math.max(0, this.millisLeft));
  }

  private expire(): void {
    this.timer = undefined;
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
  }
}
