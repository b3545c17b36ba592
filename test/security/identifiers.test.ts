/**
 * Table and schema names reach SQL as identifiers, so they are checked against
 * a strict pattern before any SQL runs: a hostile name is refused at start-up,
 * in code, in the environment and on the CLI's command line, and the proxy in
 * front of each server sees no connection at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { MetricEventsSpanExporter } from '../../src/export/exporter.js';
import { runCli } from '../support/child-process.js';
import { MYSQL_URL, POSTGRES_URL } from '../support/databases.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const HOSTILE_NAMES = [
  'metric_events; DROP TABLE metric_events; --',
  'metric_events"; DROP TABLE x; --',
  'metric_events`; DROP TABLE x; --',
  "metric_events'",
  'public.metric_events',
  '../metric_events',
  'metric events',
  'metric_events\0',
  'metric_events\n',
  'mеtric_events', // a Cyrillic е
  '1metric_events',
  '',
  'a'.repeat(64),
];

describe.each([
  { name: 'PostgreSQL', url: POSTGRES_URL },
  { name: 'MySQL', url: MYSQL_URL },
])('hostile table and schema names for $name', ({ url }) => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await TcpProxy.forUrl(url);
  });
  afterAll(() => proxy.stop());

  it.each(HOSTILE_NAMES)('refuses table %j in code, naming the option, before connecting', (table) => {
    expect(() => new MetricEventsSpanExporter({ url: proxy.url(url), table })).toThrow(ConfigError);
    expect(() => new MetricEventsSpanExporter({ url: proxy.url(url), table })).toThrow(/^table=/);
    expect(() => new MetricEventsSpanExporter({ url: proxy.url(url), schema: table || 'x y' })).toThrow(
      /^schema=/,
    );
    expect(proxy.accepted).toBe(0);
  });

  it('refuses a hostile LLAMONITOR_TABLE and LLAMONITOR_SCHEMA, naming the variable, before connecting', () => {
    // A variable's value is trimmed first (a trailing newline from a file is no name of its own).
    for (const name of HOSTILE_NAMES.filter((n) => n.trim() !== '' && n.trim() !== 'metric_events')) {
      const env = { LLAMONITOR_URL: proxy.url(url) };
      expect(() => MetricEventsSpanExporter.fromEnv({}, { ...env, LLAMONITOR_TABLE: name })).toThrow(
        /^LLAMONITOR_TABLE=.* is not allowed: use 1 to 63 letters, digits and underscores/,
      );
      expect(() => MetricEventsSpanExporter.fromEnv({}, { ...env, LLAMONITOR_SCHEMA: name })).toThrow(
        /^LLAMONITOR_SCHEMA=/,
      );
    }
    expect(proxy.accepted).toBe(0);
  });

  it('lets the CLI run no command with a hostile table name, and connect nowhere', async () => {
    for (const command of ['migrate', 'doctor', 'replay']) {
      const run = await runCli([command, '--url', proxy.url(url), '--table', 'x; DROP TABLE metric_events']);
      expect(run.stdout).toMatch(
        /\[fail\] configuration: LLAMONITOR_TABLE=x; DROP TABLE metric_events is not allowed/,
      );
      expect(run.code).toBe(1);
    }
    expect(proxy.accepted).toBe(0);
  });
});
