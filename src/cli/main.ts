#!/usr/bin/env node
/** `llamonitor`: migrate, doctor, replay, recover, price, stats, reprice, prune, compact, serve. Options mirror the LLAMONITOR_* variables. */
import { readFileSync } from 'node:fs';
import { doctor, EXIT_USAGE, migrate, replay, type Env, type Out } from './commands.js';
import { optionsHelp, parseCommandLine, UsageError, type OptionKey } from './arguments.js';
import { recover } from './recover.js';
import { price } from './price.js';
import { reprice, stats } from './cost-commands.js';
import { prune } from './prune.js';
import { compact } from './compact.js';
import { serve } from './serve.js';

interface Command {
  readonly summary: string;
  /** The options it uses; its --help lists them in the order of the options table. */
  readonly options: readonly OptionKey[];
  /** Its own on/off flags, which no variable mirrors, with what each does. */
  readonly switchHelp?: Readonly<Record<string, string>>;
  /** Its own flags that take a value (`--provider <name>`), with what each does. */
  readonly valueHelp?: Readonly<Record<string, string>>;
  /** The one argument it takes after its name, if any: its name in the usage line and what it is. */
  readonly argument?: { readonly name: string; readonly help: string };
  readonly run: (env: Env, out: Out, given: Given) => Promise<number>;
}

/** What the command line gave a command beside the options: its switches, valued flags and argument. */
export interface Given {
  readonly switches: ReadonlySet<string>;
  readonly values: ReadonlyMap<string, string>;
  readonly argument: string | undefined;
}

/** Where each command writes or reads: the sink, the table and how to reach it. */
const SINK: readonly OptionKey[] = ['url', 'table', 'schema', 'poolSize', 'fileMode'];

/** The time range of stats and reprice. */
const RANGE_HELP = {
  since: 'start of the range: a duration back from now (30m, 12h, 7d) or an ISO 8601 day or time; required',
  until: 'end of the range, as --since; default now',
};

const COMMANDS: Record<string, Command> = {
  migrate: {
    summary:
      'create the table and its indexes for the configured URL, or bring an existing table up to this schema version',
    options: [...SINK, 'partition'],
    switchHelp: { 'print-sql': 'print the statements it would run, and run none' },
    run: (env, out, given) => migrate(env, out, given.switches.has('print-sql')),
  },
  doctor: {
    summary:
      'connect, check the table and permissions, write, read back and remove a probe row; report what waits on disk',
    options: [...SINK, 'spillDir', 'exportTimeoutMillis'],
    run: doctor,
  },
  replay: {
    summary: 'send the spilled batches in the spill folder to the configured sink',
    options: [
      ...SINK,
      'createTable',
      'spillDir',
      'exportTimeoutMillis',
      'parquetFileRows',
      'parquetFileAgeMillis',
    ],
    run: replay,
  },
  recover: {
    summary:
      'store the rows that ended processes left in the Parquet write-ahead log (_wal), those of other hosts too once their lease is stale',
    options: [...SINK, 'parquetFileRows', 'parquetFileAgeMillis'],
    run: recover,
  },
  price: {
    summary:
      'what a model name resolves to in the price tables (custom prices, then the bundled one): its rates and where they came from',
    options: ['prices'],
    argument: {
      name: '<model>',
      help: 'the model name as spans carry it (gpt-4o-mini-2024-07-18, openai/gpt-4o)',
    },
    valueHelp: {
      provider: 'the provider as the provider column holds it (openai, anthropic, aws.bedrock); default none',
      date: 'the day (YYYY-MM-DD) or time (ISO 8601) whose price to show; default now',
    },
    run: (env, out, given) =>
      price(env, out, given.argument!, given.values.get('provider'), given.values.get('date')),
  },
  stats: {
    summary:
      'the model calls of a time range from the configured sink: calls, errors, tokens, cost, latency by group, and the models seen without a price',
    options: SINK,
    valueHelp: {
      ...RANGE_HELP,
      by: 'model, provider, user, session, service or operation; default model',
    },
    switchHelp: { json: 'print the summary as JSON' },
    run: (env, out, given) =>
      stats(
        env,
        out,
        given.values.get('since'),
        given.values.get('until'),
        given.values.get('by'),
        given.switches.has('json'),
      ),
  },
  reprice: {
    summary:
      'work out the cost of stored rows again from their tokens with the prices configured now; rows whose provider reported the charge are left as they are',
    options: [...SINK, 'prices'],
    valueHelp: {
      ...RANGE_HELP,
      model: 'only rows of this model (the model column)',
    },
    switchHelp: { 'dry-run': 'count and sum the changes, write none' },
    run: (env, out, given) =>
      reprice(
        env,
        out,
        given.values.get('since'),
        given.values.get('until'),
        given.values.get('model'),
        given.switches.has('dry-run'),
      ),
  },
  prune: {
    summary:
      'remove the rows older than a duration or a date from the configured sink, once, as retentionDays does every hour (Parquet: whole day folders)',
    options: [...SINK, 'retentionDays'],
    valueHelp: {
      'older-than':
        'a duration back from now (30d, 2w, 12h) or an ISO 8601 day or time; default LLAMONITOR_RETENTION_DAYS',
    },
    switchHelp: { 'dry-run': 'count what would be removed, remove nothing' },
    run: (env, out, given) => prune(env, out, given.values.get('older-than'), given.switches.has('dry-run')),
  },
  compact: {
    summary:
      "merge a Parquet dataset's small files of a day into files of parquetFileRows, each row once (every day before today without --date)",
    options: [...SINK, 'parquetFileRows'],
    valueHelp: { date: 'the day to compact, YYYY-MM-DD (today included); default every day before today' },
    run: (env, out, given) => compact(env, out, given.values.get('date')),
  },
  serve: {
    summary:
      'a read-only REST API over the configured sink (summary, time series, calls, sessions, traces: docs/api.md) until Ctrl-C',
    options: SINK,
    valueHelp: {
      host: 'the address to listen on; default 127.0.0.1 (any other needs LLAMONITOR_SERVE_TOKEN)',
      port: 'the port to listen on; default 8080 (0 picks a free one)',
    },
    run: (env, out, given) => serve(env, out, given.values.get('host'), given.values.get('port')),
  },
};

const GENERAL_OPTIONS = `  --help, -h               show this help\n  --version, -v            show the version of llamonitor-otel\n`;

/** The installed package's version: dist/cli/main.js sits two folders below package.json. */
function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  return (
    `Usage: llamonitor <command> [options]\n\nCommands:\n` +
    Object.entries(COMMANDS)
      .map(([name, command]) => `  ${name.padEnd(width)}${command.summary}`)
      .join('\n') +
    `\n\nRun llamonitor <command> --help for the options of a command.\n\nOptions:\n${GENERAL_OPTIONS}`
  );
}

function commandUsage(name: string, command: Command): string {
  const argument = command.argument;
  return (
    `Usage: llamonitor ${name}${argument ? ` ${argument.name}` : ''} [options]\n\n${command.summary}\n\n` +
    (argument ? `Argument:\n  ${argument.name.padEnd(24)} ${argument.help}\n\n` : '') +
    `Options (each also read from its environment variable):\n${optionsHelp(command.options)}\n` +
    Object.entries(command.valueHelp ?? {})
      .map(([name, help]) => `  --${`${name} <value>`.padEnd(22)} ${help}\n`)
      .join('') +
    Object.entries(command.switchHelp ?? {})
      .map(([name, help]) => `  --${name.padEnd(22)} ${help}\n`)
      .join('') +
    GENERAL_OPTIONS
  );
}

export async function main(argv: readonly string[], env: Env, out: Out): Promise<number> {
  let parsed;
  try {
    const switchesOf = (command: Command) => Object.keys(command.switchHelp ?? {});
    const valuedOf = (command: Command) => Object.keys(command.valueHelp ?? {});
    parsed = parseCommandLine(
      argv,
      env,
      (name) => {
        const command = COMMANDS[name];
        return (
          command && { options: command.options, switches: switchesOf(command), values: valuedOf(command) }
        );
      },
      Object.values(COMMANDS).flatMap(switchesOf),
      Object.values(COMMANDS).flatMap(valuedOf),
    );
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out(error.message);
    return EXIT_USAGE;
  }
  if (parsed.version) {
    out(version());
    return 0;
  }
  const command = parsed.command === undefined ? undefined : COMMANDS[parsed.command];
  if (parsed.command !== undefined && !command) {
    out(`llamonitor: unknown command '${parsed.command}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (!command) {
    out(usage());
    return parsed.help ? 0 : EXIT_USAGE;
  }
  if (parsed.help) {
    out(commandUsage(parsed.command as string, command));
    return 0;
  }
  const name = parsed.command as string;
  const allowed = command.argument === undefined ? 0 : 1;
  if (parsed.rest.length > allowed) {
    out(
      `llamonitor ${name} takes no argument '${parsed.rest[allowed]}'; llamonitor ${name} --help lists its options`,
    );
    return EXIT_USAGE;
  }
  if (command.argument !== undefined && parsed.rest.length === 0) {
    out(
      `llamonitor ${name} needs ${command.argument.name}: llamonitor ${name} ${command.argument.name} [options]`,
    );
    return EXIT_USAGE;
  }
  return command.run(parsed.env, out, {
    switches: parsed.switches,
    values: parsed.values,
    argument: parsed.rest[0],
  });
}

main(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`llamonitor: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
