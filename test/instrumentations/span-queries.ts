/** Small queries over captured spans that the instrumentation tests share. */
import type { AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The one span in the list; fails (with the names found) when there are none or several. */
export function onlySpan(spans: readonly ReadableSpan[]): ReadableSpan {
  if (spans.length !== 1)
    throw new Error(`expected one span, got ${spans.map((s) => s.name).join(', ') || 'none'}`);
  return spans[0]!;
}

export function spansNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

export function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  return onlySpan(spansNamed(spans, name));
}

/** Attribute keys with a prefix, e.g. all `gen_ai.usage.` keys. */
export function keysStartingWith(span: ReadableSpan, prefix: string): string[] {
  return Object.keys(span.attributes).filter((key) => key.startsWith(prefix));
}

/** A JSON-string attribute, parsed. */
export function jsonAttribute(span: ReadableSpan, key: string): unknown {
  const value: AttributeValue | undefined = span.attributes[key];
  if (typeof value !== 'string') throw new Error(`${span.name}: ${key} is not a string (${String(value)})`);
  return JSON.parse(value) as unknown;
}

export function parentIdOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** Every string found in the span's attributes and event attributes. */
export function allStrings(span: ReadableSpan): string[] {
  const values = [
    ...Object.values(span.attributes),
    ...span.events.flatMap((event) => Object.values(event.attributes ?? {})),
  ];
  return values
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter((v) => typeof v === 'string');
}

/** The hostnames of request origins. */
export function hostnames(origins: readonly string[]): string[] {
  return [...new Set(origins.map((origin) => new URL(origin).hostname))];
}
