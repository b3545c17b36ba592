/**
 * `llamonitor serve`'s HTTP server: the REST API over a store's read queries
 * (sinks/call-queries.ts). Read-only: it runs SELECTs and nothing else.
 *
 * Who may ask: it binds 127.0.0.1 by default; any other address needs a
 * bearer token (LLAMONITOR_SERVE_TOKEN), which it then requires of every
 * request, compared in constant time. On loopback it also checks the Host
 * header, so that a web page whose name an attacker points at 127.0.0.1 (DNS
 * rebinding) cannot read the API through the user's browser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { BadCursorError, type CallQueries } from '../sinks/call-queries.js';
import {
  RequestError,
  callsParams,
  liveParams,
  noParams,
  sessionsParams,
  summaryParams,
  timeseriesParams,
} from './api-request.js';
import { LiveFeed } from './live-feed.js';
import { dashboardAsset } from './dashboard-assets.js';
import { refuseUpgrade, serveEvents, serveWebSocket } from './live-stream.js';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** Required of every request when set; required to bind beyond loopback. */
  readonly token?: string | undefined;
  /** Where the rows are read from: the store's read queries. */
  readonly queries: CallQueries;
  /** For error messages: what the store is (`postgres 127.0.0.1:5432/test, table metric_events`). */
  readonly target: string;
  /** Turns a store's failure into a message without secrets. */
  readonly describeError?: (error: unknown) => string;
  /** The clock, for ranges without `to` (tests fix it). */
  readonly now?: () => number;
  /** How often `/api/live` looks for new rows; default every second. */
  readonly livePollMillis?: number;
}

export interface RunningServer {
  /** `http://127.0.0.1:8080`, the port the system gave for port 0. */
  readonly url: string;
  close(): Promise<void>;
}

/** The server refuses to start: a setting that would expose the API. */
export class ServeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServeConfigError';
  }
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const loopback = isLoopback(options.host);
  if (!loopback && (options.token === undefined || options.token.length === 0)) {
    throw new ServeConfigError(
      `llamonitor serve: --host ${options.host} would open the API beyond this machine: set LLAMONITOR_SERVE_TOKEN ` +
        `to a long random secret (openssl rand -hex 32), which every request must then send as ` +
        `'Authorization: Bearer <token>', or keep the default --host 127.0.0.1`,
    );
  }
  const tokenDigest = options.token ? digest(options.token) : undefined;
  const describe = (error: unknown) =>
    options.describeError?.(error) ?? (error instanceof Error ? error.message : String(error));
  const context: Context = {
    options,
    loopback,
    tokenDigest,
    routes: routesOf(options.queries),
    feed: new LiveFeed(options.queries, describe, options.livePollMillis),
    describe,
  };
  const server = createServer((request, response) => {
    handle(request, response, context).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
      process.stderr.write(`llamonitor serve: ${(error as Error).stack ?? String(error)}\n`);
    });
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    upgrade(request, socket, context);
  });
  await listen(server, options.host, options.port);
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: async () => {
      await context.feed.close();
      for (const socket of upgraded) socket.destroy();
      await closeServer(server);
    },
  };
}

interface Context {
  readonly options: ServeOptions;
  readonly loopback: boolean;
  readonly tokenDigest: Buffer | undefined;
  readonly routes: ReturnType<typeof routesOf>;
  readonly feed: LiveFeed;
  readonly describe: (error: unknown) => string;
}

/**
 * Why a request may not be answered (Host, token), or undefined when it may.
 * The dashboard's page and assets hold no data: they need no token (the page
 * asks for it, and sends it with each API request).
 */
function refusal(
  request: IncomingMessage,
  context: Context,
  isAsset = false,
): { status: number; message: string } | undefined {
  if (context.loopback) {
    const name = hostName(request);
    if (name === undefined || !LOOPBACK_NAMES.has(name)) {
      return {
        status: 403,
        message: `Host '${request.headers.host ?? ''}' is not this server's: on 127.0.0.1 it answers only localhost, 127.0.0.1 and [::1]`,
      };
    }
  }
  if (!isAsset && context.tokenDigest !== undefined && !authorized(request, context.tokenDigest)) {
    return {
      status: 401,
      message: "missing or wrong token: send 'Authorization: Bearer <LLAMONITOR_SERVE_TOKEN>'",
    };
  }
  return undefined;
}

/** A WebSocket to /api/live: the checks of any request, then the page's Origin must be this server. */
function upgrade(request: IncomingMessage, socket: Duplex, context: Context): void {
  const refused = refusal(request, context);
  if (refused) {
    refuseUpgrade(socket, refused.status, refused.message);
    return;
  }
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname !== '/api/live' || (request.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    refuseUpgrade(socket, 404, `no WebSocket at ${url.pathname}: the live stream is /api/live`);
    return;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !sameOrigin(origin, request.headers.host)) {
    refuseUpgrade(
      socket,
      403,
      `Origin '${origin}' is not this server: the live stream serves only its own pages`,
    );
    return;
  }
  try {
    serveWebSocket(request, socket, context.feed, liveParams(url.searchParams));
  } catch (error) {
    if (error instanceof RequestError) refuseUpgrade(socket, error.status, error.message);
    else throw error;
  }
}

/** A browser's Origin names the server it came from: it must be the host the request went to. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host.replace(/^\[(.*)\]$/, '$1'), () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The bearer token of the request, compared by digest: constant time, whatever the lengths. */
function authorized(request: IncomingMessage, tokenDigest: Buffer): boolean {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer (.+)$/.exec(header);
  return match !== null && timingSafeEqual(digest(match[1]!), tokenDigest);
}

/** The Host header's name without its port, lowercase. */
function hostName(request: IncomingMessage): string | undefined {
  const host = request.headers.host;
  if (host === undefined) return undefined;
  const bracketed = /^(\[[^\]]+\])(:\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

type Route = (search: URLSearchParams, now: number, id: string | undefined) => Promise<unknown>;

function routesOf(queries: CallQueries): readonly (readonly [RegExp, Route])[] {
  return [
    [
      /^\/api\/summary$/,
      async (search, now) => {
        const { filter, by } = summaryParams(search, now);
        return { ...rangeOf(filter), by: by ?? null, groups: await queries.summary(filter, by) };
      },
    ],
    [
      /^\/api\/timeseries$/,
      async (search, now) => {
        const { filter, bucket, by } = timeseriesParams(search, now);
        return {
          ...rangeOf(filter),
          bucket,
          by: by ?? null,
          points: await queries.timeseries(filter, bucket, by),
        };
      },
    ],
    [
      /^\/api\/calls$/,
      async (search, now) => {
        const { filter, limit, cursor } = callsParams(search, now);
        return { ...rangeOf(filter), ...(await queries.calls(filter, limit, cursor)) };
      },
    ],
    [
      /^\/api\/sessions$/,
      async (search, now) => {
        const { filter, limit, cursor, q, sort } = sessionsParams(search, now);
        return {
          ...rangeOf(filter),
          sort,
          ...(await queries.sessions({ ...filter, q, sort, limit, cursor })),
        };
      },
    ],
    [
      /^\/api\/sessions\/([^/]+)$/,
      async (search, _now, id) => {
        noParams(search, '/api/sessions/{id}');
        const calls = await queries.session(id!);
        if (calls.length === 0) throw new RequestError(404, `no rows of session '${id}'`);
        return { session_id: id, calls };
      },
    ],
    [
      /^\/api\/traces\/([^/]+)$/,
      async (search, _now, id) => {
        noParams(search, '/api/traces/{id}');
        const spans = await queries.trace(id!);
        if (spans.length === 0) throw new RequestError(404, `no rows of trace '${id}'`);
        return { trace_id: id, spans };
      },
    ],
  ];
}

function rangeOf(filter: { readonly from: Date; readonly to: Date }): { from: string; to: string } {
  return { from: filter.from.toISOString(), to: filter.to.toISOString() };
}

async function handle(request: IncomingMessage, response: ServerResponse, context: Context): Promise<void> {
  const { options } = context;
  const url = new URL(request.url ?? '/', 'http://localhost');
  const asset = dashboardAsset(url.pathname);
  const refused = refusal(request, context, asset !== undefined);
  if (refused) {
    if (refused.status === 401) response.setHeader('WWW-Authenticate', 'Bearer realm="llamonitor"');
    sendJson(response, refused.status, { error: refused.message });
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    sendJson(response, 405, { error: `${request.method} is not allowed: the API is read-only (GET)` });
    return;
  }
  if (asset !== undefined) {
    response.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': asset.body.length,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    });
    response.end(request.method === 'HEAD' ? undefined : asset.body);
    return;
  }
  if (url.pathname === '/api/live') {
    try {
      serveEvents(request, response, context.feed, liveParams(url.searchParams));
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      sendJson(response, error.status, { error: error.message });
    }
    return;
  }
  for (const [pattern, route] of context.routes) {
    const match = pattern.exec(url.pathname);
    if (!match) continue;
    let id: string | undefined;
    try {
      id = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
    } catch {
      sendJson(response, 400, { error: `${url.pathname}: the id is not valid percent-encoding` });
      return;
    }
    try {
      sendJson(response, 200, await route(url.searchParams, (options.now ?? Date.now)(), id));
    } catch (error) {
      if (error instanceof RequestError) sendJson(response, error.status, { error: error.message });
      else if (error instanceof BadCursorError) sendJson(response, 400, { error: error.message });
      else {
        const message =
          options.describeError?.(error) ?? (error instanceof Error ? error.message : String(error));
        sendJson(response, 503, { error: `the store (${options.target}) could not answer: ${message}` });
      }
    }
    return;
  }
  sendJson(response, 404, {
    error: `no such endpoint: ${url.pathname} (see docs/api.md: /api/summary, /api/timeseries, /api/calls, /api/sessions, /api/sessions/{id}, /api/traces/{id}, /api/live)`,
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}
