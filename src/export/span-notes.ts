/**
 * What MetricEventsSpanProcessor notes about each span at its start: the
 * session it holds or inherits, and whether its parent is a model call. A child
 * usually ends (and is exported) before its parent, so what it inherits must be
 * noted when it starts. Memory is bounded: the oldest notes go first.
 */
import type { Attributes } from '@opentelemetry/api';

export interface SpanNote {
  /** The live span, while something else keeps it: a session set after its start is still seen. */
  readonly span: WeakRef<NotedSpan>;
  /** The session of the nearest ancestor that had one. */
  readonly inherited: string | undefined;
  /** The span's own session, as last seen (at start, then at end). */
  own: string | undefined;
  readonly parentIsModelCall: boolean;
}

export interface NotedSpan {
  readonly name: string;
  readonly attributes: Attributes;
  readonly resource?: { readonly attributes: Attributes } | undefined;
}

export class SpanNotes {
  private readonly notes = new Map<string, SpanNote>();

  constructor(private readonly maxNotes: number) {}

  get size(): number {
    return this.notes.size;
  }

  get(spanId: string): SpanNote | undefined {
    return this.notes.get(spanId);
  }

  set(spanId: string, note: SpanNote): void {
    if (this.notes.size >= this.maxNotes) {
      const oldest = this.notes.keys().next();
      if (!oldest.done) this.notes.delete(oldest.value);
    }
    this.notes.set(spanId, note);
  }
}
