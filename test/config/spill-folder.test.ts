/**
 * The spill folder is a folder of its own: replay moves and removes files in
 * it, so start-up refuses one that is the Parquet dataset folder, lies inside
 * it or holds it, comparing the paths the file system resolves (symbolic links
 * followed), whether or not the folders exist yet.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { resolveOptions } from '../../src/config/options.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';

const root = mkdtempSync(join(tmpdir(), 'llamonitor-spill-apart-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const data = join(root, 'data');
const dataset = join(data, 'metric_events');

function refusal(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError, but it was accepted');
}

describe('a spill folder beside the Parquet dataset', () => {
  it.each([
    ['is the dataset folder', dataset, 'is the Parquet dataset folder'],
    ['is inside it', join(dataset, 'spill'), 'is inside the Parquet dataset folder'],
    ['holds it', data, 'holds the Parquet dataset folder'],
    ['holds it from further up', root, 'holds the Parquet dataset folder'],
  ])('is refused at start-up when it %s', (_, spillDir, relation) => {
    const message = refusal(() => resolveOptions({ url: data, spillDir }));
    expect(message).toBe(
      `spillDir=${spillDir} is not allowed: it ${relation} ${dataset} (from url and table). ` +
        'Replay moves and removes files in the spill folder: give it a folder of its own, such as ./llamonitor-spill',
    );
  });

  it('names the variables the folders came from, and the table the dataset folder is named after', () => {
    const message = refusal(() =>
      MetricEventsSpanExporter.fromEnv(
        {},
        {
          LLAMONITOR_URL: `file://${data}`,
          LLAMONITOR_TABLE: 'llm_rows',
          LLAMONITOR_SPILL_DIR: join(data, 'llm_rows'),
        },
      ),
    );
    expect(message).toMatch(
      /^LLAMONITOR_SPILL_DIR=\S+ is not allowed: it is the Parquet dataset folder \S+\/llm_rows \(from LLAMONITOR_URL and LLAMONITOR_TABLE\)/,
    );
  });

  it('is refused when a symbolic link leads into the dataset folder', () => {
    mkdirSync(dataset, { recursive: true });
    const link = join(root, 'link-to-dataset');
    symlinkSync(dataset, link);
    expect(refusal(() => resolveOptions({ url: data, spillDir: join(link, 'spill') }))).toMatch(
      /it is inside the Parquet dataset folder/,
    );
  });

  it('is refused when the dataset folder is reached through a link to the spill folder', () => {
    const spill = join(root, 'spill-real');
    mkdirSync(spill);
    symlinkSync(spill, join(root, 'data-link'));
    expect(
      refusal(() => resolveOptions({ url: join(root, 'data-link'), table: 'rows', spillDir: spill })),
    ).toMatch(/it holds the Parquet dataset folder .*spill-real\/rows/);
  });

  it('is taken beside the dataset, and the defaults are apart', () => {
    expect(resolveOptions({ url: data, spillDir: join(root, 'spill') }).spillDir).toBe(join(root, 'spill'));
    expect(resolveOptions({ url: data, spillDir: join(data, 'spill') }).spillDir).toBe(join(data, 'spill'));
    expect(resolveOptions({}).spillDir).toBe('./llamonitor-spill');
  });

  it('is not compared with anything for a database sink', () => {
    expect(resolveOptions({ url: 'postgres://app@db/m', spillDir: '/' }).spillDir).toBe('/');
  });
});
