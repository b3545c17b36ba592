/**
 * The warning that nothing is being recorded. An instrumentation that never
 * patched its client (registered after the client was imported, or an ES
 * module application without the loader hook) makes no span and raises no
 * error: the application runs, and the table stays empty. The processor
 * counts the spans it sees until the first one with an LLM convention; if a
 * minute after start, or at shutdown, none had one, it says what it saw and
 * what usually causes it, once each time.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { indexKeys } from '../mapping/key-index.js';
import type { ConsoleWarnings } from '../warnings.js';

/** How long after start the first check runs. */
export const FIRST_CHECK_MILLIS = 60_000;

/** Scopes named in the warning at most; the rest are counted. */
const MAX_SCOPES_NAMED = 5;

/** Sets a timer that does not keep the process alive; returns what cancels it. */
export type SetTimer = (callback: () => void, delayMillis: number) => () => void;

const unrefTimer: SetTimer = (callback, delayMillis) => {
  const timer = setTimeout(callback, delayMillis);
  timer.unref();
  return () => clearTimeout(timer);
};

const CAUSES =
  'Usually the instrumentation was registered after the LLM client was imported (register it in a ' +
  'module loaded first, e.g. with --import), or the application is an ES module and the ' +
  "instrumentation patches only require() (use llamonitor-otel/register, or the instrumentation's " +
  'manual API: docs/setups.md).';

function scopeOf(span: ReadableSpan): string {
  // sdk-trace-base 2.x names it instrumentationScope, 1.x instrumentationLibrary.
  const legacy = span as unknown as { instrumentationLibrary?: { name?: string } };
  return span.instrumentationScope?.name ?? legacy.instrumentationLibrary?.name ?? '(unnamed)';
}

export class LlmSpanWatch {
  private spans = 0;
  private llmSpanSeen = false;
  private readonly scopes = new Set<string>();
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly warnings: ConsoleWarnings,
    private readonly setTimer: SetTimer = unrefTimer,
  ) {}

  /** Arms the check a minute from now. */
  start(): void {
    this.cancelTimer ??= this.setTimer(() => this.check('in its first minute'), FIRST_CHECK_MILLIS);
  }

  /** Notes an ended span; once one with an LLM convention is seen, nothing more is looked at. */
  onEnd(span: ReadableSpan): void {
    if (this.llmSpanSeen) return;
    this.spans++;
    if (indexKeys(span.attributes).hasLlmConvention) {
      this.llmSpanSeen = true;
      this.stop();
      return;
    }
    if (this.scopes.size <= MAX_SCOPES_NAMED) this.scopes.add(scopeOf(span));
  }

  /** The check at shutdown; stops the timed one. */
  atShutdown(): void {
    this.stop();
    this.check('before shutdown');
  }

  private stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private check(when: 'in its first minute' | 'before shutdown'): void {
    if (this.llmSpanSeen) return;
    const cause = `no-llm-span ${when}`;
    if (this.spans === 0) {
      this.warnings.once(
        cause,
        `no span reached MetricEventsSpanProcessor ${when}, so no LLM call was recorded. ${CAUSES}`,
      );
      return;
    }
    this.warnings.once(
      cause,
      `${this.spans} ${this.spans === 1 ? 'span' : 'spans'} reached MetricEventsSpanProcessor ${when}, ` +
        `none with an LLM convention (${this.scopesNamed()}), so no LLM call was recorded. ${CAUSES}`,
    );
  }

  private scopesNamed(): string {
    const named = [...this.scopes].slice(0, MAX_SCOPES_NAMED);
    const more = this.scopes.size > MAX_SCOPES_NAMED ? ', and others' : '';
    return `${named.length === 1 ? 'scope' : 'scopes'}: ${named.join(', ')}${more}`;
  }
}
