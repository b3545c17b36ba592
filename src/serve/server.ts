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
import { BadCursorError, type CallQueries } from '../sinks/call-queries.js';
import {
  RequestError,
  callsParams,
  noParams,
  sessionsParams,
  summaryParams,
  timeseriesParams,
} from './api-request.js';

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
  const server = createServer((request, response) => {
    handle(request, response, options, loopback, tokenDigest).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
      process.stderr.write(`llamonitor serve: ${(error as Error).stack ?? String(error)}\n`);
    });
  });
  await listen(server, options.host, options.port);
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () => closeServer(server),
  };
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
        return { ...rangeOf(filter), by, groups: await queries.summary(filter, by) };
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

const routeTables = new WeakMap<CallQueries, ReturnType<typeof routesOf>>();

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: ServeOptions,
  loopback: boolean,
  tokenDigest: Buffer | undefined,
): Promise<void> {
  if (loopback) {
    const name = hostName(request);
    if (name === undefined || !LOOPBACK_NAMES.has(name)) {
      sendJson(response, 403, {
        error: `Host '${request.headers.host ?? ''}' is not this server's: on 127.0.0.1 it answers only localhost, 127.0.0.1 and [::1]`,
      });
      return;
    }
  }
  if (tokenDigest !== undefined && !authorized(request, tokenDigest)) {
    response.setHeader('WWW-Authenticate', 'Bearer realm="llamonitor"');
    sendJson(response, 401, {
      error: "missing or wrong token: send 'Authorization: Bearer <LLAMONITOR_SERVE_TOKEN>'",
    });
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    sendJson(response, 405, { error: `${request.method} is not allowed: the API is read-only (GET)` });
    return;
  }
  const url = new URL(request.url ?? '/', 'http://localhost');
  let routes = routeTables.get(options.queries);
  if (routes === undefined) routeTables.set(options.queries, (routes = routesOf(options.queries)));
  for (const [pattern, route] of routes) {
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
    error: `no such endpoint: ${url.pathname} (see docs/api.md: /api/summary, /api/timeseries, /api/calls, /api/sessions, /api/sessions/{id}, /api/traces/{id})`,
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
