/**
 * A real Prometheus for the metrics tests, from Debian's `prometheus` package
 * (installed here when missing and the process may install; .ci/run installs it
 * too): its own data folder and config under a temporary folder, a free port,
 * a 1 s scrape and rule interval; queried through its HTTP API. Without it the
 * tests skip with a message saying how to enable them; with CI=true they fail.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const inCi = process.env.CI === 'true' || process.env.CI === '1';

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** True when `prometheus` and `promtool` run here, after installing them if they were missing and we are root. */
export function prometheusAvailable(): boolean {
  if (onPath('prometheus') && onPath('promtool')) return true;
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    spawnSync('apt-get', ['install', '-y', '-q', 'prometheus'], { stdio: 'ignore', timeout: 300_000 });
    if (onPath('prometheus') && onPath('promtool')) return true;
  }
  const message =
    'prometheus and promtool are not installed (Debian: apt-get install -y prometheus); install them to run these tests';
  if (inCi) throw new Error(`CI=true and ${message}`);
  console.warn(`skipping Prometheus tests: ${message}`);
  return false;
}

/** A TCP port nothing listens on now, on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PrometheusSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface RunningPrometheus {
  readonly url: string;
  /** An instant query's samples; throws with Prometheus's error when the query is refused. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** GET of an API path (`/api/v1/rules`), its `data`. */
  api(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

export interface PrometheusSetup {
  /** `host:port` of each target of one scrape job, `llamonitor-app`. */
  readonly targets?: readonly string[];
  /** Or the scrape jobs as YAML, a `scrape_configs:` block (a user's, as the README shows it). */
  readonly scrapeConfigs?: string;
  /** Rule files Prometheus loads (absolute paths). */
  readonly ruleFiles?: readonly string[];
}

export async function startPrometheus(setup: PrometheusSetup): Promise<RunningPrometheus> {
  const folder = mkdtempSync(join(tmpdir(), 'llamonitor-prometheus-'));
  const port = await freePort();
  const config = join(folder, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      ...(setup.ruleFiles?.length
        ? ['rule_files:', ...setup.ruleFiles.map((file) => `  - ${JSON.stringify(file)}`)]
        : []),
      ...(setup.scrapeConfigs !== undefined
        ? [setup.scrapeConfigs.trimEnd()]
        : [
            'scrape_configs:',
            '  - job_name: llamonitor-app',
            '    static_configs:',
            `      - targets: ${JSON.stringify(setup.targets ?? [])}`,
          ]),
      '',
    ].join('\n'),
  );
  execFileSync('promtool', ['check', 'config', config], { stdio: 'pipe' });
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(folder, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (data: Buffer) => (log += data.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const api = async (path: string): Promise<unknown> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data?: unknown; error?: string };
    if (body.status !== 'success')
      throw new Error(`Prometheus refused ${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    rmSync(folder, { recursive: true, force: true });
  };

  for (let waited = 0; ; waited += 100) {
    if (child.exitCode !== null) throw new Error(`prometheus exited at start: ${log}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (waited > 30_000) {
      await stop();
      throw new Error(`prometheus was not ready within 30 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    url,
    api,
    async query(promql) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as {
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[];
      };
      if (data.resultType !== 'vector') throw new Error(`${promql} gave a ${data.resultType}, not a vector`);
      return data.result.map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }));
    },
    stop,
  };
}

/** `promtool <args>`, its output; throws with the output when promtool fails. */
export function promtool(args: readonly string[], input?: string): string {
  const run = spawnSync('promtool', args, { input, encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0) throw new Error(`promtool ${args.join(' ')} failed (${run.status}): ${output}`);
  return output;
}
