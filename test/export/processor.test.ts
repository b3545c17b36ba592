import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace, type Span } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { MetricEventsSpanProcessor } from '../../src/export/processor.js';
import { NO_IDENTITY, SpanNotes } from '../../src/export/span-notes.js';
import { MemorySink } from '../support/memory-sink.js';
import type { MetricEventsExporterOptions } from '../../src/config/options.js';
import { decodeSpill } from '../../src/spill/spill-format.js';

let spillDir: string;
beforeAll(async () => {
  spillDir = await mkdtemp(join(tmpdir(), 'llamonitor-proc-'));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(async () => {
  context.disable();
  await rm(spillDir, { recursive: true, force: true });
});

function setup() {
  const sink = new MemorySink();
  const processor = new MetricEventsSpanProcessor({
    exporter: MetricEventsSpanExporter.withSink(sink, { spillDir }),
    batch: { scheduledDelayMillis: 60_000 },
  });
  const seen = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [processor, new SimpleSpanProcessor(seen)] });
  return { sink, processor, seen, tracer: provider.getTracer('ai'), provider };
}

function child(tracer: ReturnType<typeof setup>['tracer'], parent: Span, name: string, attributes = {}) {
  return tracer.startSpan(name, { attributes }, trace.setSpan(context.active(), parent));
}

// The Vercel AI SDK 7 tree: the session is set on invoke_agent and step, not on chat.
describe('MetricEventsSpanProcessor', () => {
  it('gives a child without a session its ancestor’s, although the child ends first', async () => {
    const { sink, processor, tracer } = setup();
    const agent = tracer.startSpan('invoke_agent weather', {
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'session.id': 'sess-42' },
    });
    const step = child(tracer, agent, 'step 1', { 'gen_ai.operation.name': 'agent_step' });
    const chat = child(tracer, step, 'chat gpt-4o', {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
    });
    chat.end();
    step.end();
    agent.end();
    await processor.forceFlush();
    const chatRow = sink.rows.find((r) => r.operation_name === 'chat gpt-4o');
    expect(chatRow?.session_id).toBe('sess-42');
  });

  it('sees a session set on the parent after the parent started', async () => {
    const { sink, processor, tracer } = setup();
    const agent = tracer.startSpan('invoke_agent', {
      attributes: { 'gen_ai.operation.name': 'invoke_agent' },
    });
    agent.setAttribute('session.id', 'late-session');
    const chat = child(tracer, agent, 'chat', { 'gen_ai.request.model': 'gpt-4o' });
    chat.end();
    agent.end();
    await processor.forceFlush();
    expect(sink.rows.find((r) => r.operation_name === 'chat')?.session_id).toBe('late-session');
  });

  it('does not change the spans other processors see', async () => {
    const { processor, seen, tracer } = setup();
    const agent = tracer.startSpan('invoke_agent', { attributes: { 'session.id': 'sess-1' } });
    child(tracer, agent, 'chat', { 'gen_ai.request.model': 'gpt-4o' }).end();
    agent.end();
    await processor.forceFlush();
    const chat = seen.getFinishedSpans().find((s) => s.name === 'chat');
    expect(chat?.attributes['session.id']).toBeUndefined();
  });

  it('keeps a child’s own session over its parent’s', async () => {
    const { sink, processor, tracer } = setup();
    const agent = tracer.startSpan('invoke_agent', { attributes: { 'session.id': 'parent' } });
    child(tracer, agent, 'chat', { 'gen_ai.request.model': 'gpt-4o', 'session.id': 'own' }).end();
    agent.end();
    await processor.forceFlush();
    expect(sink.rows.find((r) => r.operation_name === 'chat')?.session_id).toBe('own');
  });

  it('gives a child without a user its ancestor’s, as it does a session', async () => {
    const { sink, processor, tracer } = setup();
    const agent = tracer.startSpan('invoke_agent weather', {
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'ai.settings.context.userId': 'user-9' },
    });
    const step = child(tracer, agent, 'step 1', { 'gen_ai.operation.name': 'agent_step' });
    child(tracer, step, 'chat gpt-4o', { 'gen_ai.request.model': 'gpt-4o' }).end();
    step.end();
    agent.end();
    await processor.forceFlush();
    const chatRow = sink.rows.find((r) => r.operation_name === 'chat gpt-4o');
    expect(chatRow?.custom_attributes).toMatchObject({ user_id: 'user-9' });
  });

  it('keeps a child’s own user over its parent’s', async () => {
    const { sink, processor, tracer } = setup();
    const agent = tracer.startSpan('invoke_agent', { attributes: { 'user.id': 'parent' } });
    child(tracer, agent, 'chat', { 'gen_ai.request.model': 'gpt-4o', 'user.id': 'own' }).end();
    agent.end();
    await processor.forceFlush();
    expect(sink.rows.find((r) => r.operation_name === 'chat')?.custom_attributes).toMatchObject({
      user_id: 'own',
    });
  });

  it('hands down the session of one ancestor and the user of another', async () => {
    const { sink, processor, tracer } = setup();
    const request = tracer.startSpan('POST /chat', { attributes: { 'session.id': 'sess-7' } });
    const agent = child(tracer, request, 'invoke_agent', { 'user.id': 'user-7' });
    child(tracer, agent, 'chat', { 'gen_ai.request.model': 'gpt-4o' }).end();
    agent.end();
    request.end();
    await processor.forceFlush();
    const chatRow = sink.rows.find((r) => r.operation_name === 'chat');
    expect([chatRow?.session_id, chatRow?.custom_attributes?.user_id]).toEqual(['sess-7', 'user-7']);
  });

  it('shutdown flushes the batch and shuts the exporter down', async () => {
    const { sink, processor, tracer } = setup();
    tracer.startSpan('chat', { attributes: { 'gen_ai.request.model': 'gpt-4o' } }).end();
    await processor.shutdown();
    expect(sink.rows).toHaveLength(1);
    expect(sink.closed).toBe(true);
  });
});

describe('SpanNotes', () => {
  it('holds at most its cap, forgetting the oldest spans first', () => {
    const notes = new SpanNotes(3);
    const note = {
      span: new WeakRef({ name: 'x', attributes: {} }),
      inherited: NO_IDENTITY,
      own: NO_IDENTITY,
      parentIsModelCall: false,
    };
    for (const id of ['a', 'b', 'c', 'd']) notes.set(id, { ...note });
    expect(notes.size).toBe(3);
    expect(notes.get('a')).toBeUndefined();
    expect(notes.get('d')).toBeDefined();
  });
});

describe('MetricEventsSpanProcessor queue', () => {
  async function storedAfterBurst(batch?: { maxQueueSize: number }) {
    const sink = new MemorySink();
    sink.delayMillis = 300; // one slow write, as a busy database gives now and then
    const processor = new MetricEventsSpanProcessor({
      exporter: MetricEventsSpanExporter.withSink(sink, { spillDir }),
      batch: { scheduledDelayMillis: 10, ...batch },
    });
    const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('burst');
    for (let i = 0; i < 6_000; i++)
      tracer.startSpan('chat', { attributes: { 'gen_ai.request.model': 'gpt-4o' } }).end();
    await processor.shutdown();
    return sink.rows.length;
  }

  it('holds 8,192 spans by default, so a slow write does not make it drop a burst', async () => {
    expect(await storedAfterBurst()).toBe(6_000);
  });

  it('keeps a queue size given in code', async () => {
    expect(await storedAfterBurst({ maxQueueSize: 2_048 })).toBeLessThan(6_000);
  });
});

describe('MetricEventsSpanProcessor pipeline', () => {
  /** A processor whose BatchSpanProcessor sends 100-span exports into a sink whose every write takes a while. */
  function slowSetup(poolSize: number, options: MetricEventsExporterOptions = {}) {
    const sink = new MemorySink();
    sink.delayMillis = 200; // long beside mapping a 100-span batch, even on a loaded machine
    const processor = new MetricEventsSpanProcessor({
      exporter: MetricEventsSpanExporter.withSink(sink, { spillDir, poolSize, ...options }),
      batch: { maxExportBatchSize: 100, scheduledDelayMillis: 10 },
    });
    const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer('pipeline');
    const endSpans = (count: number) => {
      for (let i = 0; i < count; i++)
        tracer.startSpan('chat', { attributes: { 'gen_ai.request.model': 'gpt-4o' } }).end();
    };
    return { sink, processor, endSpans };
  }

  /** Waits, a turn of the event loop at a time (bounded), until `done` holds. */
  async function until(done: () => boolean, what: string) {
    for (let turn = 0; turn < 20_000 && !done(); turn++) await new Promise((r) => setTimeout(r, 1));
    expect(done(), what).toBe(true);
  }

  it.each([
    [3, 3],
    [1, 1],
  ])(
    'with poolSize %i, writes %i batches at once, although the BatchSpanProcessor sends one export at a time',
    async (poolSize, writesAtOnce) => {
      const { sink, processor, endSpans } = slowSetup(poolSize);
      endSpans(1_000);
      await until(() => sink.rows.length === 1_000, 'every row stored without a flush');
      expect(sink.maxConcurrent).toBe(writesAtOnce);
      await processor.shutdown();
    },
  );

  it('forceFlush resolves only once the rows of every write in flight are stored', async () => {
    const { sink, processor, endSpans } = slowSetup(4);
    endSpans(1_000);
    await processor.forceFlush();
    expect(sink.rows).toHaveLength(1_000);
    await processor.shutdown();
  });

  it('shutdown stores the rows of every write in flight, then closes the sink', async () => {
    const { sink, processor, endSpans } = slowSetup(4);
    endSpans(1_000);
    await processor.shutdown();
    expect(sink.rows).toHaveLength(1_000);
    expect(new Set(sink.rows.map((row) => row.event_id)).size).toBe(1_000);
    expect(sink.closed).toBe(true);
  });

  it('a write that fails for good spills its rows: nothing lost, though the export had been answered', async () => {
    const ownSpill = await mkdtemp(join(tmpdir(), 'llamonitor-proc-spill-'));
    const { sink, processor, endSpans } = slowSetup(4, { spillDir: ownSpill, exportTimeoutMillis: 500 });
    sink.failuresLeft = Infinity;
    endSpans(300);
    await processor.shutdown();
    expect(sink.rows).toHaveLength(0);
    expect(await spilledRows(ownSpill)).toBe(300);
    await rm(ownSpill, { recursive: true, force: true });
  });
});

/** Rows in a spill folder's files. */
async function spilledRows(folder: string): Promise<number> {
  let count = 0;
  for (const name of await readdir(folder)) {
    if (name.endsWith('.ndjson'))
      count += decodeSpill(name, await readFile(join(folder, name), 'utf8')).rows.length;
  }
  return count;
}
