/**
 * What MetricEventsSpanProcessor notes about each span at its start: the
 * session and user it holds or inherits, and whether its parent is a model call. A child
 * usually ends (and is exported) before its parent, so what it inherits must be
 * noted when it starts. Memory is bounded: the oldest notes go first.
 */
import type { Attributes } from '@opentelemetry/api';

/** Whom a span's calls are for: its session and its user, each undefined when not known. */
export interface SpanIdentity {
  readonly session: string | undefined;
  readonly user: string | undefined;
}

export const NO_IDENTITY: SpanIdentity = Object.freeze({ session: undefined, user: undefined });

/** Each of `first`'s parts, else `second`'s. */
export function eitherIdentity(first: SpanIdentity, second: SpanIdentity): SpanIdentity {
  if (second === NO_IDENTITY) return first;
  return { session: first.session ?? second.session, user: first.user ?? second.user };
}

export interface SpanNote {
  /** The live span, while something else keeps it: a session set after its start is still seen. */
  readonly span: WeakRef<NotedSpan>;
  /** The session and the user of the nearest ancestors that had them. */
  readonly inherited: SpanIdentity;
  /** The span's own session and user, as last seen (at start, then at end). */
  own: SpanIdentity;
  readonly parentIsModelCall: boolean;
}

export interface NotedSpan {
  readonly name: string;
  readonly attributes: Attributes;
  readonly resource?:
    { readonly attributes: Attributes; readonly asyncAttributesPending?: boolean } | undefined;
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
