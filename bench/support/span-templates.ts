/**
 * The spans the benchmark feeds the exporter: every captured fixture (what the
 * real instrumentations emitted, test/fixtures/captured/) and every fixture
 * builder's shape (test/fixtures/spans/), replayed through a real
 * sdk-trace-base tracer so that the exporter gets the ReadableSpan objects an
 * application's BatchSpanProcessor hands it, with fresh trace and span ids.
 */
import {
  context,
  trace,
  TraceFlags,
  type Context,
  type HrTime,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { everyFixtureSpan } from '../../test/fixtures/spans/all.js';
import { listCapturedFixtures, loadCapturedSpans } from '../../test/support/captured-span.js';

/** One span to replay: its shape, and where its parent is among its trace's spans. */
interface SpanTemplate {
  readonly span: ReadableSpan;
  /** Index of the parent in the same trace group, or -1 (a root, or a parent that was not recorded). */
  readonly parent: number;
  readonly hasParent: boolean;
  readonly durationNanos: number;
}

/** The spans of one trace: started parents first, ended in the order they ended when recorded. */
export interface TraceTemplate {
  readonly spans: readonly SpanTemplate[];
  /** Indexes into spans, parents before children. */
  readonly startOrder: readonly number[];
}

const parentIdOf = (span: ReadableSpan): string | undefined =>
  (span as { parentSpanContext?: SpanContext }).parentSpanContext?.spanId;

const nanosOf = (time: HrTime): number => time[0] * 1e9 + time[1];

function groupByTrace(spans: readonly ReadableSpan[]): TraceTemplate[] {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const traceId = span.spanContext().traceId;
    byTrace.set(traceId, [...(byTrace.get(traceId) ?? []), span]);
  }
  return [...byTrace.values()].map((group) => {
    const index = new Map(group.map((span, i) => [span.spanContext().spanId, i]));
    const templates = group.map((span) => {
      const parentId = parentIdOf(span);
      return {
        span,
        parent: parentId === undefined ? -1 : (index.get(parentId) ?? -1),
        hasParent: parentId !== undefined,
        durationNanos: Math.max(0, nanosOf(span.duration)),
      };
    });
    const depth = (i: number): number => {
      let d = 0;
      for (let p = templates[i]!.parent; p >= 0 && d < group.length; p = templates[p]!.parent) d++;
      return d;
    };
    const startOrder = templates.map((_, i) => i).sort((a, b) => depth(a) - depth(b) || a - b);
    return { spans: templates, startOrder };
  });
}

/** Every trace of every fixture: the mix of shapes, images, errors and trees the benchmark replays. */
export function traceTemplates(): TraceTemplate[] {
  const captured = listCapturedFixtures().flatMap(([instrumentation, scenario]) =>
    loadCapturedSpans(instrumentation, scenario),
  );
  return groupByTrace([...captured, ...everyFixtureSpan()]);
}

const randomHex = (length: number): string => {
  let out = '';
  while (out.length < length)
    out += Math.floor(Math.random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, length);
};

const hrTimeOf = (nanos: number): HrTime => [Math.floor(nanos / 1e9), Math.floor(nanos % 1e9)];

/**
 * Replays the templates through a real tracer: `replayTrace` makes one trace's
 * spans (start, attributes, events, status, end), the next template each call.
 */
export class SpanReplayer {
  readonly provider: BasicTracerProvider;
  private readonly traces: readonly TraceTemplate[];
  private readonly tracers = new Map<string, Tracer>();
  /** Per trace template: how many of its spans map to a row. */
  private readonly rowsPerTrace: readonly number[];
  private next = 0;

  /** `mapsToRow` tells which template spans make a row (the rest the filter drops); by default all. */
  constructor(
    processor: SpanProcessor,
    mapsToRow: (span: ReadableSpan) => boolean = () => true,
    traces: readonly TraceTemplate[] = traceTemplates(),
  ) {
    this.traces = traces;
    this.rowsPerTrace = traces.map((t) => t.spans.filter((s) => mapsToRow(s.span)).length);
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'bench-app' }),
      spanProcessors: [processor],
    });
  }

  /** Spans in one pass over every template. */
  get spansPerPass(): number {
    return this.traces.reduce((sum, t) => sum + t.spans.length, 0);
  }

  /** Makes and ends the spans of the next trace template, starting at `startNanos` (epoch): how many, how many rows. */
  replayTrace(startNanos = Date.now() * 1e6): { spans: number; rows: number } {
    const rows = this.rowsPerTrace[this.next]!;
    const template = this.traces[this.next]!;
    this.next = (this.next + 1) % this.traces.length;
    const made: Span[] = new Array<Span>(template.spans.length);
    // A parent that was not recorded (the application's own span) becomes a remote parent, kept per trace.
    const remoteParent: SpanContext = {
      traceId: randomHex(32),
      spanId: randomHex(16),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    };
    for (const i of template.startOrder) {
      const { span, parent, hasParent } = template.spans[i]!;
      let parentContext: Context = context.active();
      if (parent >= 0) parentContext = trace.setSpan(parentContext, made[parent]!);
      else if (hasParent) parentContext = trace.setSpanContext(parentContext, remoteParent);
      else parentContext = trace.deleteSpan(parentContext);
      made[i] = this.tracerFor(span).startSpan(
        span.name,
        { kind: span.kind, attributes: span.attributes, startTime: hrTimeOf(startNanos) },
        parentContext,
      );
    }
    // In the order they ended when recorded: children before parents.
    for (let i = 0; i < template.spans.length; i++) {
      const { span, durationNanos } = template.spans[i]!;
      const live = made[i]!;
      for (const event of span.events) {
        live.addEvent(event.name, event.attributes, hrTimeOf(startNanos + durationNanos / 2));
      }
      live.setStatus(span.status);
      live.end(hrTimeOf(startNanos + durationNanos));
    }
    return { spans: template.spans.length, rows };
  }

  private tracerFor(span: ReadableSpan): Tracer {
    const scope = span.instrumentationScope;
    const key = `${scope.name}@${scope.version ?? ''}`;
    let tracer = this.tracers.get(key);
    if (!tracer) {
      tracer = this.provider.getTracer(scope.name, scope.version);
      this.tracers.set(key, tracer);
    }
    return tracer;
  }
}

/** A processor that keeps every ended span: the spans the throughput rows export. */
export class CollectingProcessor implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * `count` ended spans of the whole mix, real SDK spans with fresh ids, starting
 * at `startMillis` and `stepMicros` apart (one trace after another).
 */
export function endedSpans(
  count: number,
  startMillis = Date.now() - 60_000,
  stepMicros = 37,
): ReadableSpan[] {
  const collector = new CollectingProcessor();
  const replayer = new SpanReplayer(collector);
  let startNanos = startMillis * 1e6;
  while (collector.spans.length < count) {
    const made = replayer.replayTrace(startNanos);
    startNanos += made.spans * stepMicros * 1e3;
  }
  return collector.spans.slice(0, count);
}

/** One of the large spans the worst-span row maps: what it is, and the span. */
export interface LargeSpan {
  readonly label: string;
  /** Characters of its attribute values, in all. */
  readonly chars: number;
  readonly span: ReadableSpan;
}

/** A captured span of `instrumentation`/`scenario` named `name`, its attributes changed as given. */
function capturedWith(
  instrumentation: string,
  scenario: string,
  name: string,
  attributes: Readonly<Record<string, string>>,
): ReadableSpan {
  const span = loadCapturedSpans(instrumentation, scenario).find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name} in ${instrumentation}/${scenario}`);
  Object.assign(span.attributes, attributes);
  return span;
}

/** A JSON list of `count` messages, message `i` as `message(i)` gives it. */
function messageList(count: number, message: (i: number) => unknown): string {
  return JSON.stringify(Array.from({ length: count }, (_, i) => message(i)));
}

/**
 * The spans of issue 12's item 9, in the shapes of the instrumentations that
 * make them: an OpenLLMetry 0.27 chat span (GenAI messages) with two 14 MB
 * message lists of 200,000 messages each, an AI SDK 6 doGenerate span with
 * 14 MB of prompt messages and 10 MB of response text, and a GenAI chat
 * span whose one image is 20 MB of base64.
 */
export function largeSpans(): LargeSpan[] {
  const genAi = (role: string) => (i: number) => ({
    role,
    parts: [{ type: 'text', content: `msg ${i} ok.` }],
  });
  const input = messageList(200_000, genAi('user'));
  const output = messageList(200_000, genAi('assistant'));
  const prompt = messageList(200_000, (i) => ({
    role: 'user',
    content: [{ type: 'text', text: `message ${i} ok` }],
  }));
  const text = 'lorem ipsum dolor sit amet, '.repeat(375_000);
  const photo = Buffer.alloc(15 * 1024 * 1024, 7);
  // A PNG header, so that the image is measured: 4000 x 3000.
  Buffer.from('89504e470d0a1a0a0000000d4948445200000fa000000bb808020000', 'hex').copy(photo);
  const imageMessages = JSON.stringify([
    {
      role: 'user',
      parts: [
        { type: 'text', content: 'What is in this photo?' },
        { type: 'blob', modality: 'image', mime_type: 'image/png', content: photo.toString('base64') },
      ],
    },
  ]);
  return [
    {
      label: 'GenAI chat, two 14 MB message lists (400k messages)',
      chars: input.length + output.length,
      span: capturedWith('openllmetry-openai', 'chat', 'chat gpt-4o-mini', {
        'gen_ai.input.messages': input,
        'gen_ai.output.messages': output,
      }),
    },
    {
      label: 'AI SDK doGenerate, 14 MB of messages and 10 MB of text',
      chars: prompt.length + text.length,
      span: capturedWith('ai6', 'chat', 'ai.generateText.doGenerate', {
        'ai.prompt.messages': prompt,
        'ai.response.text': text,
      }),
    },
    {
      label: 'GenAI chat with one 20 MB base64 image',
      chars: imageMessages.length,
      span: capturedWith('openllmetry-openai', 'chat', 'chat gpt-4o-mini', {
        'gen_ai.input.messages': imageMessages,
      }),
    },
  ];
}
