/**
 * A cap on the distinct values of one metric attribute. Every distinct value
 * makes a series in the backend, so a value taken from a span (a model name, an
 * error type) must not make them without bound: the first `max` values seen
 * are kept as they are, every later one is recorded as OVERFLOW_VALUE.
 */

/** What a value past the cap is recorded as: the GenAI conventions' word for "another value". */
export const OVERFLOW_VALUE = '_OTHER';

export class BoundedValues {
  private readonly seen = new Set<string>();
  /** Set once a value was recorded as OVERFLOW_VALUE. */
  overflowed = false;

  constructor(readonly max: number) {}

  /** `value` while it is one of the first `max` distinct values, else OVERFLOW_VALUE. */
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.max) {
      this.seen.add(value);
      return value;
    }
    this.overflowed = true;
    return OVERFLOW_VALUE;
  }
}
