/**
 * What every part of the mapping reads: the span's attributes, indexed in one
 * pass over their keys (key-index.ts), and each JSON attribute parsed at most
 * once. Reads are bounded per span: its values are read up to maxMeasuredBytes
 * characters in all (image data aside, see bounded-json.ts). When they are
 * longer together, each value is read up to one cap (`maxMeasured`), the same
 * for all, chosen so that the values shorter than it and the caps of the
 * longer ones fit in the budget; the view notes which values it cut, so that
 * the mapping can mark the metrics read from them as partial. A bound per
 * value would let a span with many long values cost many times the budget.
 */
import { diag, type AttributeValue, type Attributes } from '@opentelemetry/api';
import { parseBoundedJson, type BoundedJson } from './bounded-json.js';
import { UNINDEXED, indexKeys, type GroupedPrefix, type KeyIndex } from './key-index.js';

/** maxMeasuredBytes's default (LLAMONITOR_MAX_MEASURED_BYTES): 1 MiB. */
export const DEFAULT_MAX_MEASURED = 1024 * 1024;

const NO_KEYS: readonly string[] = [];

export class SpanView {
  readonly keys: KeyIndex;
  private parsedKeys: string[] | undefined;
  private parsedValues: (BoundedJson | undefined)[] | undefined;
  /** While a part is read (see `partial`): whether a value it read was cut. */
  private readCut = false;
  private cap: number | undefined;

  constructor(
    readonly name: string,
    readonly attributes: Attributes,
    readonly resourceAttributes: Attributes,
    /** Characters of the span's values read at most, in all (maxMeasuredBytes). */
    private readonly budget: number = DEFAULT_MAX_MEASURED,
  ) {
    this.keys = indexOrUnindexed(attributes);
  }

  /**
   * Characters (UTF-16 code units) of one value read at most: the span's share per value of its
   * budget, worked out on first use (a span the filter drops never needs it).
   */
  get maxMeasured(): number {
    return (this.cap ??= perValueCap(this.attributes, this.budget));
  }

  /**
   * Whether a value of `length` code units is read whole. A value no longer than the smallest cap
   * there can be always is: most spans hold only such values and never work out their cap.
   */
  readsWhole(length: number): boolean {
    return length <= Math.min(this.budget, MIN_CAP) || length <= this.maxMeasured;
  }

  /** True when the span has a key in one of `groups` (KeyGroup bits). */
  has(groups: number): boolean {
    return (this.keys.groups & groups) !== 0;
  }

  /** The value as the span holds it, for readers whose work does not grow with its length. */
  get(key: string): AttributeValue | undefined {
    return this.attributes[key];
  }

  /** The attribute as a string, when it is one and is not empty; its first maxMeasured characters. */
  string(key: string): string | undefined {
    const value = this.attributes[key];
    if (typeof value !== 'string' || value.length === 0) return undefined;
    return this.bounded(value);
  }

  /** A string read from the span (an attribute, an item of one), cut to maxMeasured characters. */
  bounded(value: string): string {
    if (this.readsWhole(value.length)) return value;
    this.readCut = true;
    return prefixOf(value, this.maxMeasured);
  }

  /** The whole string, however long: for image URLs, measured from their length and first bytes. */
  whole(key: string): string | undefined {
    const value = this.attributes[key];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  }

  /**
   * The attribute parsed as JSON, once per span, reading at most maxMeasured
   * characters of it; undefined when absent or not JSON.
   */
  json(key: string): unknown {
    const raw = this.attributes[key];
    if (typeof raw !== 'string') return undefined;
    // A span parses a few attributes at most: short lists cost less than a Map per span.
    const keys = (this.parsedKeys ??= []);
    const values = (this.parsedValues ??= []);
    const at = keys.indexOf(key);
    const parsed =
      at >= 0
        ? values[at]
        : parseJsonAttribute(raw, this.readsWhole(raw.length) ? raw.length : this.maxMeasured);
    if (at < 0) {
      keys.push(key);
      values.push(parsed);
    }
    if (parsed?.cut) this.readCut = true;
    return parsed?.value;
  }

  /** Notes that a part read less than a whole value (a list of items cut at maxMeasured). */
  noteCut(): void {
    this.readCut = true;
  }

  /** Runs `read`, and tells whether any value it read was cut to maxMeasured. */
  partial<T>(read: (view: SpanView) => T): { readonly value: T; readonly partial: boolean } {
    const outer = this.readCut;
    this.readCut = false;
    try {
      const value = read(this);
      return { value, partial: this.readCut };
    } finally {
      this.readCut = outer || this.readCut;
    }
  }

  /** Keys grouped under a prefix, in span order. */
  grouped(prefix: GroupedPrefix): readonly string[] {
    return this.keys.prefixed?.get(prefix) ?? NO_KEYS;
  }
}

function indexOrUnindexed(attributes: Attributes): KeyIndex {
  try {
    return indexKeys(attributes);
  } catch (error) {
    diag.debug('llamonitor: could not list the attribute keys of a span; reading them by name', error);
    return UNINDEXED;
  }
}

/**
 * A JSON attribute's value, read up to `maxMeasured` characters: parsed when
 * it is a string holding an object, an array or a string; else undefined.
 */
function parseJsonAttribute(value: AttributeValue | undefined, maxMeasured = DEFAULT_MAX_MEASURED) {
  if (typeof value !== 'string') return undefined;
  const first = firstNonSpace(value);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */ && first !== 0x22 /* " */) return undefined;
  return parseBoundedJson(value, maxMeasured);
}

/** A cap below this would read next to nothing of each value: a span with thousands of long values gets this much of each. */
const MIN_CAP = 1024;

/**
 * The one cap per value that keeps the reading of a span's string values
 * within `budget` characters: values read whole, shortest first, while each
 * fits an equal share of what is left; the longer ones get that share each.
 * `budget` itself when the values fit. Image data URLs are not counted: they
 * are measured from their length and first bytes.
 */
export function perValueCap(attributes: Attributes, budget: number): number {
  // Most spans fit their budget: one pass sums the lengths, without a list or a function per span.
  let total = 0;
  try {
    for (const key in attributes) {
      const value = attributes[key];
      if (typeof value === 'string') total += countedLength(value);
      else if (Array.isArray(value)) for (const item of value as unknown[]) total += countedLength(item);
    }
  } catch {
    return budget; // hostile attributes (a throwing getter): the per-value bound still holds
  }
  return total <= budget ? budget : sharedCap(attributes, budget);
}

/** A value's characters as the budget counts them: strings shorter than MIN_CAP and data: URLs count none. */
function countedLength(value: unknown): number {
  return typeof value !== 'string' || value.length < MIN_CAP || value.startsWith('data:') ? 0 : value.length;
}

/** perValueCap for a span whose values exceed the budget together. */
function sharedCap(attributes: Attributes, budget: number): number {
  const lengths: number[] = [];
  const count = (value: unknown): void => {
    const length = countedLength(value);
    if (length > 0) lengths.push(length);
  };
  try {
    for (const key in attributes) {
      const value = attributes[key];
      if (Array.isArray(value)) (value as unknown[]).forEach(count);
      else count(value);
    }
  } catch {
    return budget;
  }
  lengths.sort((a, b) => a - b);
  let left = budget;
  for (let i = 0; i < lengths.length; i++) {
    const share = left / (lengths.length - i);
    const length = lengths[i] as number;
    if (length > share) return Math.max(MIN_CAP, Math.floor(share));
    left -= length;
  }
  return budget;
}

/** The first `max` code units of `value`, one fewer where the last would split a surrogate pair. */
export function prefixOf(value: string, max: number): string {
  const last = value.charCodeAt(max - 1);
  return value.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** The first code unit that is not JSON whitespace, among the first 64; -1 when there is none. */
function firstNonSpace(value: string): number {
  for (let i = 0; i < value.length && i < 64; i++) {
    const unit = value.charCodeAt(i);
    if (unit !== 0x20 && unit !== 0x0a && unit !== 0x0d && unit !== 0x09) return unit;
  }
  return -1;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
