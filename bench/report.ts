/**
 * One row of the benchmark's result, and how the run prints them: a table for
 * people, or (--json) only a JSON array on stdout for machines.
 */
import { median, roundRatios, spreadOf, type Spread } from './support/stats.js';

export interface BenchRow {
  readonly name: string;
  /** The measured figure: rows/s, spans/s, milliseconds or MiB (see unit). */
  readonly value: number;
  readonly unit: string;
  /** The same-run reference the value is held against, in the same unit; null where the target is absolute. */
  readonly reference: number | null;
  /** value ÷ reference as the median of per-round ratios (rates: higher is better); null where there is no ratio. */
  readonly ratio: number | null;
  /** What passes, naming the field it applies to: `ratio >= 0.9`, `value <= 10`; `none` for a figure only reported. */
  readonly target: string;
  /** Whether the target holds; null for a row without a target. */
  readonly pass: boolean | null;
  /** Range of the per-round figure the target applies to, and the number of rounds. */
  readonly spread?: Spread | undefined;
  /** What the figure is of, in a few words (the table shows it; JSON keeps it). */
  readonly note?: string | undefined;
}

/** Whether `target` holds for the row: `<field> <op> <number>`; null for `none`. */
export function meets(target: string, fields: { value: number; ratio: number | null }): boolean | null {
  if (target === 'none') return null;
  const match = /^(value|ratio) (>=|<=) (-?[\d.]+)$/.exec(target);
  if (!match) throw new Error(`target "${target}" is not "<value|ratio> <>=|<=> <number>"`);
  const actual = match[1] === 'ratio' ? fields.ratio : fields.value;
  if (actual === null || !Number.isFinite(actual)) return false;
  const bound = Number(match[3]);
  return match[2] === '>=' ? actual >= bound : actual <= bound;
}

export function row(fields: Omit<BenchRow, 'pass'>): BenchRow {
  return { ...fields, pass: meets(fields.target, fields) };
}

/**
 * A throughput row from per-round rows/s: the medians of both sides, and the
 * median and range of the ratios taken within each round.
 */
export function throughputRow(
  name: string,
  rates: readonly number[],
  reference: readonly number[],
  target: string,
  note: string,
): BenchRow {
  const ratios = roundRatios(rates, reference);
  return row({
    name,
    value: median(rates),
    unit: 'rows/s',
    reference: median(reference),
    ratio: median(ratios),
    target,
    spread: spreadOf(ratios),
    note,
  });
}

function figure(value: number | null, unit = ''): string {
  if (value === null || !Number.isFinite(value)) return '–';
  const digits = Math.abs(value) >= 1000 ? 0 : Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
  return unit ? `${text} ${unit}` : text;
}

function spreadText(row: BenchRow): string {
  if (!row.spread) return '';
  const { min, max, rounds } = row.spread;
  return `${figure(min)}–${figure(max)} (${rounds})`;
}

/** A Markdown table: name, value, reference, ratio, spread, target, pass. */
export function table(rows: readonly BenchRow[]): string {
  const header = ['row', 'value', 'reference', 'ratio', 'range (rounds)', 'target', 'pass'];
  const lines = rows.map((r) => [
    r.name,
    figure(r.value, r.unit),
    figure(r.reference, r.reference === null ? '' : r.unit),
    figure(r.ratio),
    spreadText(r),
    r.target,
    r.pass === null ? '–' : r.pass ? 'yes' : '**no**',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}

/** The notes under the table: what each row measured. */
export function notes(rows: readonly BenchRow[]): string {
  return rows
    .filter((r) => r.note)
    .map((r) => `- ${r.name}: ${r.note}`)
    .join('\n');
}
