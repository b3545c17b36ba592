/**
 * The tarball a user installs: packed from a fresh clone (prepack builds it),
 * installed offline into a new application, then loaded the three ways an
 * application loads it. One pack and one install serve every test here.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/child-process.js';
import { installIntoNewApp, LEFT_OVER_MODULE, packFreshClone, run, type Packed } from './packed-app.js';

/** What a TypeScript application beside the package needs to compile against it. */
const TYPES = ['@types/node'];

let packed: Packed;
let app: string;
let installed: string;

beforeAll(async () => {
  packed = await packFreshClone();
  app = await installIntoNewApp(packed, TYPES);
  installed = join(app, 'node_modules', packed.manifest.name);
}, 300_000);

afterAll(async () => {
  if (packed) await rm(packed.folder, { recursive: true, force: true });
});

/** Relative links of a Markdown file (no web address, no in-page anchor), without their #anchor. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => target.split('#')[0] as string);
}

describe('npm pack of a fresh clone', () => {
  it('ships the built code, its TypeScript sources, the docs, the README and the LICENSE', () => {
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/register.js',
      'dist/cli/main.js',
      'src/index.ts',
      'docs/outages.md',
      'README.md',
      'LICENSE',
      'package.json',
    ]) {
      expect(packed.files, file).toContain(file);
    }
    const outside = packed.files.filter(
      (f) => !/^(dist|src|docs)\/|^(README\.md|LICENSE|package\.json)$/.test(f),
    );
    expect(outside).toEqual([]);
  });

  it('ships no compiled module whose source is gone (prepack builds into an empty dist/)', () => {
    expect(packed.files).not.toContain(LEFT_OVER_MODULE);
    const sources = new Set(packed.files.filter((f) => f.startsWith('src/')));
    const orphans = packed.files
      .filter((f) => f.startsWith('dist/') && f.endsWith('.js'))
      .filter((f) => !sources.has(f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')));
    expect(orphans).toEqual([]);
  });

  it('carries the MIT license with its copyright line', async () => {
    const license = await readFile(join(installed, 'LICENSE'), 'utf8');
    expect(packed.manifest.license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the llamonitor-otel authors\n/);
  });

  it('has source maps and declaration maps that point only at sources it ships', async () => {
    const maps = packed.files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const target = normalize(join(dirname(map), source));
        if (!packed.files.includes(target)) missing.push(`${map} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("resolves every relative link of the README and docs/ to a file it ships, as the registry's page needs", async () => {
    const pages = ['README.md', ...packed.files.filter((f) => /^docs\/.*\.md$/.test(f))];
    const broken: string[] = [];
    for (const page of pages) {
      for (const target of relativeLinks(await readFile(join(installed, page), 'utf8'))) {
        const file = normalize(join(dirname(page), target));
        if (!packed.files.includes(file)) broken.push(`${page} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('the tarball installed offline into a new application', () => {
  it('runs in an ES module application: a processor stores a span as a Parquet file', async () => {
    const data = join(app, 'esm-data');
    await writeFile(
      join(app, 'esm-app.mjs'),
      `import { readdirSync } from 'node:fs';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ConfigError, LlamonitorError, MetricEventsSpanProcessor, toMetricEvent } from 'llamonitor-otel';

const memory = new InMemorySpanExporter();
const processor = new MetricEventsSpanProcessor({ url: ${JSON.stringify(data)}, spillDir: ${JSON.stringify(join(app, 'esm-spill'))} });
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory), processor] });
const span = provider.getTracer('packed-app').startSpan('chat gpt-4o-mini', {
  attributes: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 3,
    'gen_ai.usage.output_tokens': 2,
  },
});
span.end();
const row = toMetricEvent(memory.getFinishedSpans()[0]);
await provider.shutdown();
process.stdout.write(JSON.stringify({
  operationType: row.operation_type,
  totalTokens: row.text_custom_metrics.total_tokens,
  parquetFiles: readdirSync(${JSON.stringify(data)}, { recursive: true }).filter((f) => f.endsWith('.parquet')).length,
  configErrorIsLlamonitorError: new ConfigError('x') instanceof LlamonitorError,
}));
`,
    );
    const ran = await run(process.execPath, ['esm-app.mjs'], app);
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual({
      operationType: 'llm_call',
      totalTokens: 5,
      parquetFiles: 1,
      configErrorIsLlamonitorError: true,
    });
  });

  it('loads through require() in a CommonJS file', async () => {
    await writeFile(
      join(app, 'cjs-app.cjs'),
      `const api = require('llamonitor-otel');
const names = ['MetricEventsSpanExporter', 'MetricEventsSpanProcessor', 'toMetricEvent', 'LlamonitorError', 'ConfigError', 'ConnectionError', 'RefusedDataError'];
process.stdout.write(JSON.stringify(Object.fromEntries(names.map((name) => [name, typeof api[name]]))));
`,
    );
    const ran = await run(process.execPath, ['cjs-app.cjs'], app);
    expect(ran.stderr).toBe('');
    expect(JSON.parse(ran.stdout)).toEqual({
      MetricEventsSpanExporter: 'function',
      MetricEventsSpanProcessor: 'function',
      toMetricEvent: 'function',
      LlamonitorError: 'function',
      ConfigError: 'function',
      ConnectionError: 'function',
      RefusedDataError: 'function',
    });
  });

  it('passes a strict TypeScript check of an application that uses the public API, library types included', async () => {
    await writeFile(
      join(app, 'public-api.ts'),
      `import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ConfigError,
  ConnectionError,
  LlamonitorError,
  MetricEventsSpanExporter,
  MetricEventsSpanProcessor,
  RefusedDataError,
  toMetricEvent,
  type ErrorKind,
  type MetricEvent,
  type MetricEventsExporterOptions,
  type MetricEventsSpanProcessorOptions,
  type OperationType,
  type SpanLike,
} from 'llamonitor-otel';

type IsAny<T> = 0 extends 1 & T ? true : false;

const options: MetricEventsExporterOptions = { url: 'postgres://app@localhost/app', table: 'metric_events', spans: 'llm' };
const exporter = new MetricEventsSpanExporter(options);
const processorOptions: MetricEventsSpanProcessorOptions = { exporter };
export const provider = new BasicTracerProvider({ spanProcessors: [new MetricEventsSpanProcessor(processorOptions)] });

export function rowOf(span: ReadableSpan): MetricEvent | undefined {
  const spanLike: SpanLike = span;
  return toMetricEvent(spanLike, { spans: 'all', captureContent: false });
}
export const rowIsTyped: IsAny<ReturnType<typeof toMetricEvent>> = false;
export const exporterIsTyped: IsAny<typeof exporter> = false;

export function kindOf(error: unknown): ErrorKind | undefined {
  if (error instanceof ConfigError || error instanceof ConnectionError || error instanceof RefusedDataError) {
    const base: LlamonitorError = error;
    return base.kind;
  }
  return undefined;
}
export const operation: OperationType = 'llm_call';
// @ts-expect-error an option the package does not have is a type error
export const misspelt = new MetricEventsSpanExporter({ urll: './data' });
`,
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(
      process.execPath,
      [
        tsc,
        '--strict',
        '--noEmit',
        '--skipLibCheck',
        'false',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        'public-api.ts',
      ],
      app,
    );
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
  });

  it('installs the llamonitor command, which prints the package version', async () => {
    const bin = join(app, 'node_modules', '.bin', 'llamonitor');
    expect((await readdir(join(app, 'node_modules', '.bin'))).includes('llamonitor')).toBe(true);
    const version = await run(bin, ['--version'], app);
    expect(version.stderr).toBe('');
    expect(version.stdout).toBe(`${packed.manifest.version}\n`);
    expect(version.code).toBe(0);
  });
});
