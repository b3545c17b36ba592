/** Exponential backoff with jitter: retries of many processes spread out instead of arriving together. */
export interface RetryPolicy {
  readonly initialDelayMillis: number;
  readonly maxDelayMillis: number;
  readonly multiplier: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialDelayMillis: 100,
  maxDelayMillis: 5_000,
  multiplier: 2,
};

/** The wait before retry number `attempt` (1 for the first retry), between 0 and the capped exponential. */
export function backoffDelayMillis(
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random = Math.random,
): number {
  const ceiling = Math.min(
    policy.maxDelayMillis,
    policy.initialDelayMillis * policy.multiplier ** Math.max(0, attempt - 1),
  );
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
