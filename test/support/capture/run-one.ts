/**
 * Captures every scenario of one target and writes the fixtures:
 * `tsx test/support/capture/run-one.ts <target>` (index.ts runs one per target).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeLlmServer } from '../fake-llm-server.js';
import { CAPTURE_TARGETS } from './registry.js';
import { spanToJson, type CaptureFixture } from './span-json.js';
import { REPOSITORY_ROOT, installedVersion } from './target.js';

export const FIXTURES_DIR = join(REPOSITORY_ROOT, 'test', 'fixtures', 'captured');

const name = process.argv[2] ?? '';
const load = CAPTURE_TARGETS[name];
if (!load) {
  console.error(`usage: run-one.ts <${Object.keys(CAPTURE_TARGETS).join('|')}>`);
  process.exit(2);
}
const target = await load();
const packageRoot = target.packageRoot ? join(REPOSITORY_ROOT, target.packageRoot) : REPOSITORY_ROOT;
const packages = Object.fromEntries(target.packages.map((pkg) => [pkg, installedVersion(pkg, packageRoot)]));
const server = await startFakeLlmServer();
const running = await target.start(server);
const dir = join(FIXTURES_DIR, target.name);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
try {
  for (const [scenario, description] of Object.entries(target.scenarios)) {
    const { spans, unended } = await running.run(scenario);
    const fixture: CaptureFixture = {
      instrumentation: target.name,
      scenario,
      description,
      capturedWith: { node: process.version, packages },
      spans: spans.map(spanToJson),
      unendedSpans: unended.map(spanToJson),
    };
    // Stack traces name this checkout's folders: keep them relative to the repository.
    const json = JSON.stringify(fixture, null, 2).replaceAll(REPOSITORY_ROOT, '<repo>');
    writeFileSync(join(dir, `${scenario}.json`), `${json}\n`);
    console.log(`${target.name}/${scenario}: ${spans.length} spans, ${unended.length} unended`);
  }
} finally {
  await running.stop();
  await server.close();
}
