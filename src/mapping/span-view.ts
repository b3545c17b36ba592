/**
 * What every part of the mapping reads: the span's attributes, indexed in one
 * pass over their keys (key-index.ts), and each JSON attribute parsed at most
 * once.
 */
import { diag, type AttributeValue, type Attributes } from '@opentelemetry/api';
import { UNINDEXED, indexKeys, type GroupedPrefix, type KeyIndex } from './key-index.js';

/** Past this many UTF-16 units a JSON attribute is not parsed: its parts are left unmeasured. */
export const MAX_JSON_ATTRIBUTE_LENGTH = 64 * 1024 * 1024;

const NO_KEYS: readonly string[] = [];

export class SpanView {
  readonly keys: KeyIndex;
  private parsedKeys: string[] | undefined;
  private parsedValues: unknown[] | undefined;

  constructor(
    readonly name: string,
    readonly attributes: Attributes,
    readonly resourceAttributes: Attributes,
  ) {
    this.keys = indexOrUnindexed(attributes);
  }

  /** True when the span has a key in one of `groups` (KeyGroup bits). */
  has(groups: number): boolean {
    return (this.keys.groups & groups) !== 0;
  }

  get(key: string): AttributeValue | undefined {
    return this.attributes[key];
  }

  /** The attribute as a string, when it is one and is not empty. */
  string(key: string): string | undefined {
    const value = this.attributes[key];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  }

  /** The attribute parsed as JSON, once per span; undefined when absent, too large or not JSON. */
  json(key: string): unknown {
    const raw = this.attributes[key];
    if (typeof raw !== 'string') return undefined;
    // A span parses a few attributes at most: two short lists cost less than a Map per span.
    const keys = (this.parsedKeys ??= []);
    const values = (this.parsedValues ??= []);
    const at = keys.indexOf(key);
    if (at >= 0) return values[at];
    const value = parseJsonAttribute(raw);
    keys.push(key);
    values.push(value);
    return value;
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

/** A JSON attribute's value: parsed when it is a string holding an object or array, else undefined. */
export function parseJsonAttribute(value: AttributeValue | undefined): unknown {
  if (typeof value !== 'string' || value.length > MAX_JSON_ATTRIBUTE_LENGTH) return undefined;
  const first = firstNonSpace(value);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */ && first !== 0x22 /* " */) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
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
