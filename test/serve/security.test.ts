/**
 * Who `llamonitor serve` answers, and how it refuses: no start beyond loopback
 * without a token, 401 without the token, 403 for a Host that is not its own
 * (DNS rebinding), 405 for anything but GET, 400 naming each bad parameter.
 * Over a real (empty) Parquet dataset, and once through the built CLI.
 */
import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBuilt } from '../support/built-package.js';
import { runCli, startNode } from '../support/child-process.js';

const { createSink } =
  await importBuilt<typeof import('../../src/config/create-sink.js')>('config/create-sink.js');
const { resolveOptions } =
  await importBuilt<typeof import('../../src/config/options.js')>('config/options.js');
const { startServer, ServeConfigError } =
  await importBuilt<typeof import('../../src/serve/server.js')>('serve/server.js');

const TOKEN = 'a-long-random-secret-0123456789abcdef';
let dir: string;
let sink: Awaited<ReturnType<typeof createSink>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'llamonitor-serve-security-'));
  sink = await createSink(resolveOptions({ url: join(dir, 'data') }));
});
afterAll(async () => {
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

/** A raw GET (fetch will not send a Host of our choosing). */
function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

async function withServer<T>(
  options: { host?: string; token?: string },
  work: (url: string) => Promise<T>,
): Promise<T> {
  const queries = sink.callQueries();
  const server = await startServer({
    host: options.host ?? '127.0.0.1',
    port: 0,
    token: options.token,
    queries,
    target: 'test dataset',
  });
  try {
    return await work(server.url.replace('0.0.0.0', '127.0.0.1'));
  } finally {
    await server.close();
    await queries.close();
  }
}

describe('llamonitor serve: who it answers', () => {
  it('does not start on 0.0.0.0 without a token, and says what to set', async () => {
    const queries = sink.callQueries();
    await expect(startServer({ host: '0.0.0.0', port: 0, queries, target: 'test dataset' })).rejects.toThrow(
      ServeConfigError,
    );
    await expect(startServer({ host: '0.0.0.0', port: 0, queries, target: 'test dataset' })).rejects.toThrow(
      /--host 0\.0\.0\.0 would open the API beyond this machine: set LLAMONITOR_SERVE_TOKEN/,
    );
  });

  it('the CLI refuses the same with exit code 2', async () => {
    const run = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], {
      LLAMONITOR_URL: join(dir, 'data'),
    });
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stdout).toMatch(
      /^\[fail\] llamonitor serve: --host 0\.0\.0\.0 would open the API beyond this machine/m,
    );
  });

  it('with a token, a request without it or with another gets 401; with it, 200', async () => {
    await withServer({ host: '0.0.0.0', token: TOKEN }, async (url) => {
      const none = await get(`${url}/api/summary`);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="llamonitor"');
      expect(JSON.parse(none.body).error).toMatch(/Authorization: Bearer/);
      expect((await get(`${url}/api/summary`, { Authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
      expect((await get(`${url}/api/summary`, { Authorization: `Basic ${TOKEN}` })).status).toBe(401);
      const right = await get(`${url}/api/summary`, { Authorization: `Bearer ${TOKEN}` });
      expect(right.status, right.body).toBe(200);
      expect(JSON.parse(right.body).groups).toEqual([]);
    });
  });

  it('on loopback, answers its own Host names only (DNS rebinding)', async () => {
    await withServer({}, async (url) => {
      const port = new URL(url).port;
      const evil = await get(`${url}/api/summary`, { Host: `rebind.attacker.example:${port}` });
      expect(evil.status).toBe(403);
      expect(JSON.parse(evil.body).error).toMatch(
        /Host 'rebind\.attacker\.example:\d+' is not this server's/,
      );
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
        expect((await get(`${url}/api/summary`, { Host: host })).status, host).toBe(200);
      }
    });
  });

  it('is read-only: anything but GET and HEAD gets 405', async () => {
    await withServer({}, async (url) => {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const response = await get(`${url}/api/summary`, {}, method);
        expect(response.status, method).toBe(405);
        expect(response.headers.allow).toBe('GET, HEAD');
      }
      const head = await get(`${url}/api/summary`, {}, 'HEAD');
      expect(head).toMatchObject({ status: 200, body: '' });
    });
  });
});

describe('llamonitor serve: bad requests', () => {
  const cases: readonly (readonly [string, number, RegExp])[] = [
    ['/api/summary?from=yesterday', 400, /from=yesterday is not an ISO 8601 time with a zone/],
    [
      '/api/summary?from=2026-12-05T10:00:00',
      400,
      /from=2026-12-05T10:00:00 is not an ISO 8601 time with a zone/,
    ],
    ['/api/summary?from=2026-12-05&to=2026-12-04', 400, /from 2026-12-05T00:00:00\.000Z is not before to/],
    [
      '/api/summary?by=colour',
      400,
      /by=colour is not one of model, provider, operation_type, service, user, session/,
    ],
    ['/api/summary?model=a&model=b', 400, /'model' is given more than once/],
    ['/api/summary?limit=5', 400, /\/api\/summary takes no parameter 'limit'; it takes from, to, by, model/],
    ['/api/summary?model=', 400, /model is empty/],
    ['/api/timeseries?bucket=5m', 400, /bucket=5m is not one of 1m, 1h, 1d/],
    [
      '/api/timeseries?from=2020-01-01&to=2026-01-01&bucket=1m',
      400,
      /buckets of 1m in this range, more than 10000/,
    ],
    ['/api/calls?limit=0', 400, /limit=0 is not a whole number from 1 to 1000/],
    ['/api/calls?limit=1001', 400, /limit=1001 is not a whole number from 1 to 1000/],
    ['/api/calls?limit=ten', 400, /limit=ten is not a whole number/],
    ['/api/calls?cursor=not-a-cursor', 400, /cursor is not one this API returned/],
    ['/api/sessions?sort=name', 400, /sort=name is not one of last, cost, calls/],
    ['/api/sessions?cursor=WyJ4IiwieSJd', 400, /cursor is not one this API returned/],
    ['/api/sessions/abc?x=1', 400, /\/api\/sessions\/\{id\} takes no parameter 'x'; it takes none/],
    ['/api/traces/%E0%A4%A', 400, /the id is not valid percent-encoding/],
    ['/api/nothing', 404, /no such endpoint: \/api\/nothing/],
  ];

  it.each(cases)('%s → %i, naming what is wrong', async (path, status, message) => {
    await withServer({}, async (url) => {
      const response = await get(`${url}${path}`);
      expect(response.status, response.body).toBe(status);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(response.body).error).toMatch(message);
    });
  });
});

describe('llamonitor serve through the CLI', () => {
  it('prints where it listens, answers, and stops on SIGTERM', async () => {
    const running = startNode(['dist/cli/main.js', 'serve', '--port', '0'], {
      LLAMONITOR_URL: join(dir, 'data'),
    });
    try {
      let url: string | undefined;
      for (let i = 0; i < 600 && url === undefined; i++) {
        url = /(http:\/\/127\.0\.0\.1:\d+)\/api\/summary/.exec(running.stdout())?.[1];
        if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(url, running.stdout()).toBeDefined();
      expect(running.stdout()).toMatch(
        /^\[ok\] {3}llamonitor serve: http:\/\/127\.0\.0\.1:\d+\/api\/summary reading parquet .+ \(read-only; Ctrl-C stops it\)$/m,
      );
      const response = await fetch(`${url}/api/calls`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ calls: [], next_cursor: null });
    } finally {
      running.child.kill('SIGTERM');
    }
    const finished = await running.finished;
    expect(finished.code, finished.stdout + finished.stderr).toBe(0);
    expect(finished.stdout).toMatch(/^\[ok\] {3}llamonitor serve stopped$/m);
  });
});
