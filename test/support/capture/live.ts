/**
 * Runs a capture target live inside a vitest file: the fake server and the
 * instrumentation start before the file's tests, each scenario runs once (the
 * first test that asks for it) and its spans are shared by the tests about it.
 * Every HTTP request the process makes is noted, so a test can prove that none
 * left for another host than the fake server.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterAll, beforeAll } from 'vitest';
import { startFakeLlmServer, type FakeLlmServer, type RecordedRequest } from '../fake-llm-server.js';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CaptureTarget, RunningCapture } from './target.js';
import type { CapturedSpans } from './tracing.js';

export interface ScenarioCapture extends CapturedSpans {
  /** The requests the fake server received during the scenario. */
  readonly requests: readonly RecordedRequest[];
}

export interface LiveCapture {
  /** Runs the scenario the first time it is asked for; later calls get the same capture. */
  run(scenario: string): Promise<ScenarioCapture>;
  readonly server: FakeLlmServer;
  /** Origins (`http://host:port`) of every HTTP request made by this process so far. */
  readonly outgoingOrigins: readonly string[];
}

export interface LiveCaptureOptions {
  /** Processors added to the capture's provider, built before the target starts (after the server). */
  readonly spanProcessors?: () => Promise<readonly SpanProcessor[]>;
  /** Runs each scenario inside this, e.g. within an application's own span. */
  readonly around?: (scenario: string, run: () => Promise<CapturedSpans>) => Promise<CapturedSpans>;
}

export function liveCapture(target: CaptureTarget, options: LiveCaptureOptions = {}): LiveCapture {
  let server: FakeLlmServer | undefined;
  let running: RunningCapture | undefined;
  const captures = new Map<string, Promise<ScenarioCapture>>();
  let queue: Promise<unknown> = Promise.resolve();
  const origins: string[] = [];
  const onFetch = (message: unknown): void => {
    origins.push((message as { request: { origin: string } }).request.origin);
  };
  const onHttp = (message: unknown): void => {
    const request = (message as { request: { protocol: string; host: string } }).request;
    origins.push(`${request.protocol}//${request.host}`);
  };

  beforeAll(async () => {
    subscribe('undici:request:create', onFetch);
    subscribe('http.client.request.start', onHttp);
    server = await startFakeLlmServer();
    const spanProcessors = (await options.spanProcessors?.()) ?? [];
    running = await target.start(server, { spanProcessors });
  });

  afterAll(async () => {
    await running?.stop();
    await server?.close();
    unsubscribe('undici:request:create', onFetch);
    unsubscribe('http.client.request.start', onHttp);
  });

  return {
    run(scenario) {
      let capture = captures.get(scenario);
      if (!capture) {
        // One scenario at a time: each takes the spans recorded since the previous one.
        capture = queue.then(async () => {
          if (!server || !running) throw new Error('liveCapture: run() before the file started');
          const before = server.requests.length;
          const target = running;
          const spans = await (options.around
            ? options.around(scenario, () => target.run(scenario))
            : target.run(scenario));
          return { ...spans, requests: server.requests.slice(before) };
        });
        queue = capture.catch(() => undefined);
        captures.set(scenario, capture);
      }
      return capture;
    },
    get server() {
      if (!server) throw new Error('liveCapture: the server starts before the first test');
      return server;
    },
    outgoingOrigins: origins,
  };
}
