/**
 * The sinks as a registry: each sink's definition checks its URL, every
 * parameter included, when the options are resolved (so a mistake stops the
 * exporter's construction), without loading its driver; the driver is loaded
 * when the sink is built, and a missing one is named with what to install.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { resolveOptions } from '../../src/config/options.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { allowedUrls, sinkTargetOf } from '../../src/sinks/registry.js';
import { REPO, runCli, runNode } from '../support/child-process.js';

/** The relative imports of each TypeScript file under `folder` (src/...). */
function importsUnder(folder: string): { file: string; from: string }[] {
  return readdirSync(join(REPO, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => {
      const text = readFileSync(join(REPO, folder, name), 'utf8');
      return [...text.matchAll(/^import [^;]*? from '(\.[^']+)'/gms)].map((m) => ({
        file: name,
        from: m[1] as string,
      }));
    });
}

/** The ConfigError `work` throws. */
function refusal(work: () => unknown): ConfigError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but it was accepted');
}

describe('a URL is checked by its sink when the options are resolved', () => {
  it.each([
    ['postgres://app:hunter2@db/metrics?sslmod=disable', /unknown parameter sslmod \(did you mean sslmode\?\)/],
    ['postgresql://app:hunter2@db/metrics?sslmode=disabled', /sslmode=disabled is not allowed: use one of disable, allow/],
    ['postgres://app:hunter2@db/metrics?connect_timeout=soon', /connect_timeout=soon is not allowed/],
    ['mysql://app:hunter2@db/metrics?sslmode=required', /unknown parameter sslmode \(did you mean ssl-mode\?\)/],
    ['mariadb://app:hunter2@db/metrics?ssl-mode=always', /ssl-mode=always is not allowed: use one of disabled, preferred/],
    ['mysql://app:hunter2@db', /name one database as the path/],
    ['postgres://postgres:pa/ss@127.0.0.1:5432/db', /not a valid URL; expected postgres:\/\/user:password@host:5432\/database, and percent-encode/],
    ['mysql://root:pa/ss@127.0.0.1:3306/db', /not a valid URL; expected mysql:\/\/user:password@host:3306\/database/],
    ['postgres://postgres:5432/ss@127.0.0.1/db', /has an @ after its host/],
    ['file:///var/lib/llm?mode=fast', /a file:\/\/ URL takes no parameters/],
  ])('refuses %s when the exporter is built, naming the variable, the masked value and what is allowed', (url, problem) => {
    const fromEnv = refusal(() => MetricEventsSpanExporter.fromEnv({}, { LLAMONITOR_URL: url }));
    expect(fromEnv.message).toMatch(/^LLAMONITOR_URL=\S+ is not allowed: /);
    expect(fromEnv.message).toMatch(problem);
    const fromCode = refusal(() => new MetricEventsSpanExporter({ url }));
    expect(fromCode.message).toMatch(/^url=\S+ is not allowed: /);
    for (const message of [fromEnv.message, fromCode.message]) {
      expect(message).not.toMatch(/hunter2|pa\/ss|5432\/ss/);
    }
  }); // prettier-ignore

  it('lists every scheme, mariadb:// included, for an unknown one', () => {
    expect(allowedUrls()).toBe('postgres://, postgresql://, mysql://, mariadb://, file:// or a plain path');
    expect(refusal(() => resolveOptions({ url: 'mongodb://db/x' })).message).toBe(
      "url=mongodb://db/x is not allowed: unknown scheme 'mongodb:'; use postgres://, postgresql://, mysql://, mariadb://, file:// or a plain path",
    );
  });

  it('picks the sink by scheme, any case, and a plain path or file:// for Parquet', () => {
    expect(sinkTargetOf('POSTGRESQL://app@db/m').kind).toBe('postgres');
    expect(sinkTargetOf('MariaDB://app@db/m').kind).toBe('mysql');
    expect(sinkTargetOf('file:///srv/llm').directory).toBe('/srv/llm');
    expect(sinkTargetOf('relative/llm').directory).toBe(`${process.cwd()}/relative/llm`);
  });

  it('keeps the masked URL and every form of the password for messages', () => {
    const target = sinkTargetOf('postgres://app:p%40ss@db/m?sslmode=disable');
    expect(target.display).toBe('postgres://app:****@db/m?sslmode=disable');
    expect(target.secrets).toEqual(expect.arrayContaining(['p@ss', 'p%40ss']));
  });
});

describe('the modules', () => {
  it('sinks import nothing of config/, and the masking of secrets imports nothing of the package', () => {
    expect(importsUnder('src/sinks').filter(({ from }) => from.includes('/config/'))).toEqual([]);
    expect(readFileSync(join(REPO, 'src/secrets.ts'), 'utf8')).not.toMatch(/^import /m);
  });
});

describe('the drivers, loaded only when a sink is built', () => {
  /** Resolves the options for `url` and builds the sink, with `hidden` packages missing; prints what happened. */
  async function buildWithout(hidden: string, url: string) {
    const script = `
      const { resolveOptions } = await import('./dist/config/options.js');
      const { createSink } = await import('./dist/config/create-sink.js');
      const options = resolveOptions({ url: process.env.SINK_URL });
      console.log('resolved ' + options.target.kind);
      try {
        await createSink(options);
        console.log('built');
      } catch (error) {
        console.log(error.name + ' ' + error.kind + ': ' + error.message);
      }`;
    return runNode(['--import', './test/config/hide-packages.mjs', '--input-type=module', '-e', script], {
      LLAMONITOR_TEST_HIDDEN_PACKAGES: hidden,
      SINK_URL: url,
    });
  }

  it('checks a PostgreSQL URL without pg, then says to install pg and pg-copy-streams', async () => {
    const run = await buildWithout(
      'pg,pg-copy-streams',
      'postgres://app:hunter2@127.0.0.1:1/m?sslmode=disable',
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      'resolved postgres\n' +
        'ConfigError configuration: the PostgreSQL sink needs the pg and pg-copy-streams packages, which are not installed: npm install pg pg-copy-streams\n',
    );
  });

  it('names the one PostgreSQL driver that is missing, whichever the import met first', async () => {
    const run = await buildWithout('pg-copy-streams', 'postgres://app:hunter2@127.0.0.1:1/m?sslmode=disable');
    expect(run.stdout).toBe(
      'resolved postgres\n' +
        'ConfigError configuration: the PostgreSQL sink needs the pg-copy-streams package, which is not installed: npm install pg pg-copy-streams\n',
    );
  });

  it('checks a MySQL URL without mysql2, then says to install it', async () => {
    const run = await buildWithout('mysql2', 'mysql://app:hunter2@127.0.0.1:1/m');
    expect(run.stdout).toBe(
      'resolved mysql\nConfigError configuration: the MySQL sink needs the mysql2 package, which is not installed: npm install mysql2\n',
    );
  });

  it('builds the Parquet sink with neither database driver installed', async () => {
    const run = await buildWithout('pg,pg-copy-streams,mysql2', '/tmp/llamonitor-registry-never-written');
    expect(run.stdout).toBe('resolved parquet\nbuilt\n');
  });

  it('has doctor name the missing driver, and a bad URL as a configuration mistake, not a missing driver', async () => {
    const missing = await runNode(
      ['--import', './test/config/hide-packages.mjs', 'dist/cli/main.js', 'doctor'],
      { LLAMONITOR_TEST_HIDDEN_PACKAGES: 'pg,pg-copy-streams', LLAMONITOR_URL: 'postgres://app@127.0.0.1:1/m' },
    );
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/\[fail\] driver: the PostgreSQL sink needs the pg and pg-copy-streams packages, which are not installed: npm install pg pg-copy-streams/);
    const badUrl = await runCli(['doctor'], { LLAMONITOR_URL: 'postgres://postgres:pa/ss@127.0.0.1:5432/db' });
    expect(badUrl.code).toBe(1);
    expect(badUrl.stdout).toMatch(/^\[fail\] configuration: LLAMONITOR_URL=postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:5432\/db is not allowed: not a valid URL/);
    expect(badUrl.stdout).not.toMatch(/driver|pa\/ss/);
  }); // prettier-ignore
});
