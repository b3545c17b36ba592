/**
 * Finds the rows a store refuses in a batch it refused, by halving: each half
 * is written again, a refused half is halved again, down to single rows, which
 * are the refused ones. Everything else is stored on the way. A batch of n rows
 * with k refused ones takes at most about 2·k·log2(n) writes (2n - 1 when
 * every row is refused); rows stored twice on the way are stored once, since
 * every sink keys rows by event_id.
 */
import { LlamonitorError } from '../errors.js';
import type { MetricEvent } from '../schema/columns.js';
import type { RefusedRow } from '../spill/dead-letter.js';

/** What one write of some rows came to. */
export type PartOutcome =
  | { readonly kind: 'stored' }
  | { readonly kind: 'refused-data'; readonly error: Error }
  /** Anything else (the store away, misconfigured): no further part is tried. */
  | { readonly kind: 'failed'; readonly error: Error };

export interface SplitResult {
  readonly refused: RefusedRow[];
  /** Rows neither stored nor found refused, because a write failed otherwise; in their order. */
  readonly unwritten: MetricEvent[];
  /** Why `unwritten` is not empty. */
  readonly failure: Error | undefined;
}

function refusedRow(row: MetricEvent, error: Error): RefusedRow {
  return { row, error: error.message, code: error instanceof LlamonitorError ? error.code : undefined };
}

/**
 * Stores every row of `rows` the store takes, given that writing all of them
 * was refused with `refusal`; `writePart` writes some rows (with its own
 * retries) and says how it went.
 */
export async function storeAroundRefusals(
  rows: readonly MetricEvent[],
  refusal: Error,
  writePart: (part: readonly MetricEvent[]) => Promise<PartOutcome>,
): Promise<SplitResult> {
  const refused: RefusedRow[] = [];
  const only = rows[0];
  if (rows.length === 1 && only)
    return { refused: [refusedRow(only, refusal)], unwritten: [], failure: undefined };
  // Depth first, first half first: rows are stored in the order they came.
  const parts: (readonly MetricEvent[])[] = halves(rows).reverse();
  for (let part = parts.pop(); part; part = parts.pop()) {
    const outcome = await writePart(part);
    if (outcome.kind === 'stored') continue;
    if (outcome.kind === 'failed') {
      const unwritten = [part, ...parts.reverse()].flat();
      return { refused, unwritten, failure: outcome.error };
    }
    const single = part.length === 1 ? part[0] : undefined;
    if (single) refused.push(refusedRow(single, outcome.error));
    else parts.push(...halves(part).reverse());
  }
  return { refused, unwritten: [], failure: undefined };
}

function halves(rows: readonly MetricEvent[]): (readonly MetricEvent[])[] {
  const middle = Math.ceil(rows.length / 2);
  return [rows.slice(0, middle), rows.slice(middle)];
}
