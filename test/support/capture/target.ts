/**
 * What a capture target is: one instrumentation (with its LLM SDK) set up
 * against the fake server, able to run each of its scenarios and hand back the
 * spans it produced. Tests run targets live; `npm run capture` writes their
 * spans to fixtures.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FakeLlmServer } from '../fake-llm-server.js';
import type { CapturedSpans } from './tracing.js';

export interface RunningCapture {
  /** Runs one scenario and returns the spans recorded during it. */
  run(scenario: string): Promise<CapturedSpans>;
  stop(): Promise<void>;
}

export interface CaptureStartOptions {
  /** More processors on the capture's provider, after its own: what an application adds beside them. */
  readonly spanProcessors?: readonly SpanProcessor[];
}

export interface CaptureTarget {
  /** The fixture folder: test/fixtures/captured/<name>/. */
  readonly name: string;
  /** Packages whose installed versions each fixture records. */
  readonly packages: readonly string[];
  /** Folder whose node_modules hold those packages (a workspace), default the repository root. */
  readonly packageRoot?: string;
  /** Scenario name → what it does. */
  readonly scenarios: Readonly<Record<string, string>>;
  /** Patches the SDK, builds the client against the server. Call once per process. */
  start(server: FakeLlmServer, options?: CaptureStartOptions): Promise<RunningCapture>;
}

export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The version of `name` that Node would load from `fromDir`, read from its package.json. */
export function installedVersion(name: string, fromDir: string = REPOSITORY_ROOT): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest))
      return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) throw new Error(`${name} is not installed (looked from ${fromDir})`);
  }
}
