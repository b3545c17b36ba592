/**
 * The time ranges a partitioned table (PostgreSQL, MySQL / MariaDB) keeps a
 * partition for ahead of the rows: pure, shared by both sinks.
 */
export const PARTITION_UNITS = ['day', 'month'] as const;
export type PartitionUnit = (typeof PARTITION_UNITS)[number];
/** Days after today with a partition of their own, kept ahead by the writer. */
export const DAYS_AHEAD = 7;

const DAY = 86_400_000;

export interface TimeRange {
  readonly from: Date;
  readonly to: Date;
}

/** The ranges kept ahead at `now`: today and the next DAYS_AHEAD days, or this month and the next. */
export function rangesAhead(unit: PartitionUnit, now: number): TimeRange[] {
  const ranges: TimeRange[] = [];
  if (unit === 'day') {
    const today = Math.floor(now / DAY) * DAY;
    for (let i = 0; i <= DAYS_AHEAD; i++)
      ranges.push({ from: new Date(today + i * DAY), to: new Date(today + (i + 1) * DAY) });
    return ranges;
  }
  const date = new Date(now);
  for (let i = 0; i <= 1; i++) {
    const from = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + i, 1));
    const to = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + i + 1, 1));
    ranges.push({ from, to });
  }
  return ranges;
}

/** `20261205` (a day) or `202612` (a month): the stamp partition names carry. */
export function partitionStamp(unit: PartitionUnit, from: Date): string {
  return from
    .toISOString()
    .slice(0, unit === 'day' ? 10 : 7)
    .replaceAll('-', '');
}
