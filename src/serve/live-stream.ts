/**
 * `/api/live` over Server-Sent Events and over WebSocket (RFC 6455, text
 * frames from the server; from the client only close, ping and pong are
 * read). Messages: `ready` once rows stored from then on will be sent, then
 * `calls` with each poll's new rows, `error` when the store could not be read.
 * A client whose unsent bytes pass MAX_UNSENT_BYTES is disconnected.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CallRow } from '../sinks/call-queries.js';
import type { LiveClient, LiveFeed, LiveFilter } from './live-feed.js';

/** A slow client's backlog at most; past it the client is dropped. */
export const MAX_UNSENT_BYTES = 1024 * 1024;
const HEARTBEAT_MILLIS = 15_000;
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function serveEvents(
  request: IncomingMessage,
  response: ServerResponse,
  feed: LiveFeed,
  filter: LiveFilter,
): void {
  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    Connection: 'keep-alive',
  });
  const write = (event: string, data: unknown) => {
    if (response.writableLength > MAX_UNSENT_BYTES) {
      response.destroy();
      return;
    }
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const client: LiveClient = {
    filter,
    send: (calls: readonly CallRow[]) => write('calls', { calls }),
    failed: (message) => write('error', { error: message }),
  };
  const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MILLIS);
  heartbeat.unref();
  const end = () => {
    clearInterval(heartbeat);
    feed.unsubscribe(client);
  };
  response.on('close', end);
  void feed.subscribe(client).then(() => {
    if (!response.destroyed) write('ready', {});
  });
}

/** Completes the WebSocket handshake of an `upgrade` request already checked, and follows the feed. */
export function serveWebSocket(
  request: IncomingMessage,
  socket: Duplex,
  feed: LiveFeed,
  filter: LiveFilter,
): void {
  const key = request.headers['sec-websocket-key'];
  if (typeof key !== 'string' || request.headers['sec-websocket-version'] !== '13') {
    refuseUpgrade(socket, 400, 'a WebSocket handshake needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13');
    return;
  }
  const accept = createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  const send = (message: unknown) => {
    if (socket.destroyed) return;
    if (socket.writableLength > MAX_UNSENT_BYTES) {
      socket.destroy();
      return;
    }
    socket.write(frame(0x1, Buffer.from(JSON.stringify(message), 'utf8')));
  };
  const client: LiveClient = {
    filter,
    send: (calls) => send({ type: 'calls', calls }),
    failed: (message) => send({ type: 'error', error: message }),
  };
  const heartbeat = setInterval(() => socket.write(frame(0x9, Buffer.alloc(0))), HEARTBEAT_MILLIS);
  heartbeat.unref();
  socket.on('close', () => {
    clearInterval(heartbeat);
    feed.unsubscribe(client);
  });
  socket.on('error', () => socket.destroy());
  readFrames(socket, (opcode, payload) => {
    if (opcode === 0x8) {
      socket.end(frame(0x8, payload.subarray(0, 2)));
    } else if (opcode === 0x9) {
      socket.write(frame(0xa, payload));
    }
  });
  void feed.subscribe(client).then(() => send({ type: 'ready' }));
}

export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  const reason =
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' }[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** One unmasked, final frame (server to client). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) header[1] = length;
  else if (length < 65_536) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** Control frames from the client, unmasked; a client frame that is not masked, or too long, ends the connection. */
function readFrames(socket: Duplex, onFrame: (opcode: number, payload: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      const opcode = buffered[0]! & 0x0f;
      const masked = (buffered[1]! & 0x80) !== 0;
      let length = buffered[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        // Clients send only short control frames here: a long frame is refused.
        socket.destroy();
        return;
      }
      if (!masked || length > 65_536) {
        socket.destroy();
        return;
      }
      if (buffered.length < offset + 4 + length) return;
      const mask = buffered.subarray(offset, offset + 4);
      const payload = Buffer.from(buffered.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      buffered = buffered.subarray(offset + 4 + length);
      onFrame(opcode, payload);
    }
  });
}
