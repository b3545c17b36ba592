/**
 * `/api/live` against each real store: a client connects, rows are stored
 * through the package's sink while it listens, and each arrives once, in
 * order, filtered as asked; the delay is reported, bounded generously. Over
 * Server-Sent Events on every store, over WebSocket once (raw frames: Node 20
 * has no WebSocket client), with its Origin check.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type MetricEvent } from '../../src/schema/columns.js';
import { fitRow } from '../../src/schema/fit-row.js';
import type { CallRow } from '../../src/sinks/call-queries.js';
import { SERVE_STORES, serveStore, type ServedStore } from './stores.js';
import { readServerSentEvents } from '../support/server-sent-events.js';

/** Generous: the store, the poll (200 ms here) and a loaded machine together. */
const ARRIVAL_BOUND_MILLIS = 30_000;

let counter = 0;
function call(model: string, session: string): MetricEvent {
  counter++;
  const hex = (counter * 104_729 + process.pid).toString(16);
  return fitRow({
    event_id: `00000000-0000-5000-8000-${hex.padStart(12, '0').slice(-12)}`,
    schema_version: SCHEMA_VERSION,
    session_id: session,
    trace_id: hex.padStart(32, '0'),
    span_id: hex.padStart(16, '0'),
    parent_span_id: null,
    operation_name: `chat ${model}`,
    operation_type: 'llm_call',
    timestamp: new Date(Date.now() - 2000).toISOString().replace('Z', '000Z'),
    duration_ms: 2000,
    model,
    provider: 'openai',
    input_tokens: 10,
    output_tokens: 5,
  });
}

/** The events of an SSE response, as they come. */
class EventReader {
  readonly events: { event: string; data: Record<string, unknown>; at: number }[] = [];
  private readonly done: Promise<void>;
  private readonly controller = new AbortController();

  constructor(url: string) {
    this.done = (async () => {
      const response = await fetch(url, { signal: this.controller.signal });
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      await readServerSentEvents(response.body as AsyncIterable<Uint8Array>, (event, data) =>
        this.events.push({ event, data: JSON.parse(data) as Record<string, unknown>, at: Date.now() }),
      );
    })().catch((error: unknown) => {
      if ((error as Error).name !== 'AbortError') throw error;
    });
  }

  /** Waits until `predicate` holds for the events so far (polling every 50 ms), within the bound. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + ARRIVAL_BOUND_MILLIS;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(
          `no ${what} within ${ARRIVAL_BOUND_MILLIS} ms: ${JSON.stringify(this.events).slice(0, 500)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  calls(): CallRow[] {
    return this.events.filter((e) => e.event === 'calls').flatMap((e) => e.data.calls as CallRow[]);
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

describe.each(SERVE_STORES)('/api/live over $name', (store) => {
  let available = false;
  let served: ServedStore | undefined;

  beforeAll(async () => {
    available = await store.available();
    // Rows stored before anyone listens: the API's, never sent as news.
    const before = [call('gpt-4o', 'before'), call('gpt-4o', 'before')];
    if (available) served = await serveStore(store, 'live', before, { livePollMillis: 200 });
  }, 60_000);

  afterAll(async () => {
    await served?.close();
  });

  it('sends each row stored while it listens once, in order, and none stored before', async (context) => {
    if (!available) return context.skip();
    const reader = new EventReader(`${served!.url}/api/live`);
    try {
      await reader.until(() => reader.events.some((e) => e.event === 'ready'), 'ready event');
      const first = [call('gpt-4o', 'live-1'), call('gpt-4o-mini', 'live-1')];
      const written = Date.now();
      await served!.sink.write(first);
      await reader.until(() => reader.calls().length >= 2, 'rows of the first write');
      const delay = reader.events.find((e) => e.event === 'calls')!.at - written;
      console.info(`/api/live over ${store.name}: first rows ${delay} ms after their write resolved`);
      const second = [call('claude-sonnet-4-5', 'live-2')];
      await served!.sink.write(second);
      await reader.until(() => reader.calls().length >= 3, 'rows of the second write');
      // A few more polls: nothing is sent twice.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(reader.calls().map((row) => row.event_id)).toEqual(
        [...first, ...second].map((row) => row.event_id),
      );
      expect(reader.calls()[2]).toMatchObject({
        model: 'claude-sonnet-4-5',
        session_id: 'live-2',
        input_tokens: 10,
      });
    } finally {
      await reader.close();
    }
  });

  it('with ?model= sends only that model', async (context) => {
    if (!available) return context.skip();
    const reader = new EventReader(`${served!.url}/api/live?model=gpt-4o-mini`);
    try {
      await reader.until(() => reader.events.some((e) => e.event === 'ready'), 'ready event');
      const rows = [call('gpt-4o', 'filter'), call('gpt-4o-mini', 'filter'), call('gpt-4o', 'filter')];
      await served!.sink.write(rows);
      await reader.until(() => reader.calls().length >= 1, 'the gpt-4o-mini row');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(reader.calls().map((row) => row.event_id)).toEqual([rows[1]!.event_id]);
    } finally {
      await reader.close();
    }
  });

  it('a client that stops reading is disconnected, not buffered without bound', async (context) => {
    if (!available || store.name !== 'Parquet') return context.skip();
    const { hostname, port } = new URL(served!.url);
    const socket = connect(Number(port), hostname);
    let received = 0;
    let sawReady = false;
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (chunk.includes('event: ready')) {
        sawReady = true;
        socket.pause(); // from here on the client reads nothing
      }
    });
    socket.write(`GET /api/live HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    for (let waited = 0; !sawReady; waited += 50) {
      if (waited > ARRIVAL_BOUND_MILLIS) throw new Error('no ready event');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // About 40 MB of rows as events: more than the sockets' buffers and the server's 1 MiB allowance.
    const prompt = 'x'.repeat(4000);
    let sent = 0;
    for (let batch = 0; batch < 10; batch++) {
      const rows = Array.from({ length: 1000 }, () => ({
        ...call('gpt-4o', 'flood'),
        custom_attributes: { prompt },
      }));
      await served!.sink.write(rows);
      sent += rows.length;
    }
    // The server gives up on the client: reading again finds the stream ended, far short of what was sent.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    socket.resume();
    const ended = await Promise.race([
      closed.then(() => true),
      new Promise((r) => setTimeout(r, ARRIVAL_BOUND_MILLIS, false)),
    ]);
    expect(ended, `the stream is still open after ${received} bytes`).toBe(true);
    expect(received).toBeLessThan(sent * prompt.length * 0.8);
    socket.destroy();
  });

  it('over WebSocket: ready, then the rows as text frames; a ping gets its pong', async (context) => {
    if (!available || store.name !== 'PostgreSQL') return context.skip();
    const socket = await webSocket(served!.url, '/api/live?session=ws');
    try {
      expect(socket.status).toBe(101);
      await socket.until((messages) => messages.some((m) => m.type === 'ready'));
      const row = call('gpt-4o', 'ws');
      await served!.sink.write([call('gpt-4o', 'other'), row]);
      await socket.until((messages) => messages.some((m) => m.type === 'calls'));
      const calls = socket.messages.filter((m) => m.type === 'calls').flatMap((m) => m.calls as CallRow[]);
      expect(calls.map((c) => c.event_id)).toEqual([row.event_id]);
      socket.ping('hello');
      await socket.until(() => socket.pongs.includes('hello'));
    } finally {
      socket.close();
    }
  });

  it('refuses a WebSocket opened by a page of another site (cross-site hijacking)', async (context) => {
    if (!available || store.name !== 'PostgreSQL') return context.skip();
    const socket = await webSocket(served!.url, '/api/live', { Origin: 'https://attacker.example' });
    expect(socket.status).toBe(403);
    expect(socket.body).toMatch(/Origin 'https:\/\/attacker\.example' is not this server/);
    socket.close();
    const own = await webSocket(served!.url, '/api/live', { Origin: served!.url });
    expect(own.status).toBe(101);
    own.close();
  });
});

interface RawWebSocket {
  readonly status: number;
  readonly body: string;
  readonly messages: Record<string, unknown>[];
  readonly pongs: string[];
  until(predicate: (messages: Record<string, unknown>[]) => boolean): Promise<void>;
  ping(text: string): void;
  close(): void;
}

/** A WebSocket client in a few lines: the handshake, masked frames out, unmasked frames in. */
function webSocket(base: string, path: string, headers: Record<string, string> = {}): Promise<RawWebSocket> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  const messages: Record<string, unknown>[] = [];
  const pongs: string[] = [];
  let buffered = Buffer.alloc(0);
  let status = 0;
  let body = '';
  const sendFrame = (opcode: number, payload: Buffer) => {
    const mask = Buffer.from([1, 2, 3, 4]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
    socket.write(Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]));
  };
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    const client: RawWebSocket = {
      get status() {
        return status;
      },
      get body() {
        return body;
      },
      messages,
      pongs,
      async until(predicate) {
        const deadline = Date.now() + ARRIVAL_BOUND_MILLIS;
        while (!predicate(messages)) {
          if (Date.now() > deadline)
            throw new Error(`WebSocket: not within ${ARRIVAL_BOUND_MILLIS} ms: ${JSON.stringify(messages)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      ping: (text) => sendFrame(0x9, Buffer.from(text)),
      close: () => socket.destroy(),
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (status === 0) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString();
        status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
        buffered = buffered.subarray(end + 4);
        if (status !== 101) {
          socket.on('end', () => resolve(client));
          body = buffered.toString();
          buffered = Buffer.alloc(0);
          socket.on('data', (more: Buffer) => (body += more.toString()));
          return;
        }
        resolve(client);
      }
      if (status !== 101) return;
      for (;;) {
        if (buffered.length < 2) return;
        const opcode = buffered[0]! & 0x0f;
        let length = buffered[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          length = buffered.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          length = Number(buffered.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffered.length < offset + length) return;
        const payload = buffered.subarray(offset, offset + length);
        buffered = buffered.subarray(offset + length);
        if (opcode === 0x1) messages.push(JSON.parse(payload.toString()));
        if (opcode === 0xa) pongs.push(payload.toString());
      }
    });
    socket.on('connect', () => {
      const lines = [
        `GET ${path} HTTP/1.1`,
        `Host: ${hostname}:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}
