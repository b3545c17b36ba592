#!/usr/bin/env node
/** `llamonitor`: migrate, doctor, replay. Options mirror the LLAMONITOR_* variables. */
import { doctor, migrate, replay, type Env, type Out } from './commands.js';
import { optionsHelp, parseCommandLine } from './arguments.js';
import { recover } from './recover.js';

const COMMANDS: Record<string, { summary: string; run: (env: Env, out: Out) => Promise<number> }> = {
  migrate: { summary: 'create the table and its indexes for the configured URL', run: migrate },
  doctor: {
    summary: 'connect, check the table and permissions, write, read back and remove a probe row',
    run: doctor,
  },
  replay: { summary: 'send the spilled batches in the spill folder to the configured sink', run: replay },
  recover: {
    summary:
      'store the rows that ended processes left in the Parquet write-ahead log (_wal), those of other hosts too once their lease is stale',
    run: recover,
  },
};

function usage(command?: string): string {
  const head = command
    ? `Usage: llamonitor ${command} [options]\n\n${COMMANDS[command]?.summary ?? ''}\n`
    : `Usage: llamonitor <command> [options]\n\nCommands:\n${Object.entries(COMMANDS)
        .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
        .join('\n')}\n\nRun llamonitor <command> --help for its options.\n`;
  return `${head}\nOptions (each also read from its environment variable):\n${optionsHelp()}\n  --help, -h               show this help\n`;
}

export async function main(argv: readonly string[], env: Env, out: Out): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv, env);
  } catch (error) {
    out(`llamonitor: ${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  const command = parsed.command === undefined ? undefined : COMMANDS[parsed.command];
  if (parsed.help) {
    out(usage(command ? parsed.command : undefined));
    return 0;
  }
  if (!command) {
    out(
      parsed.command === undefined
        ? usage()
        : `llamonitor: unknown command '${parsed.command}'\n\n${usage()}`,
    );
    return 2;
  }
  return command.run(parsed.env, out);
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
