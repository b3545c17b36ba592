/**
 * Command-line options mirror the LLAMONITOR_* variables: --pool-size for
 * LLAMONITOR_POOL_SIZE, and so on. A flag wins over its variable; both are
 * checked by the same rules (config/options.ts). Each command takes only the
 * options it uses; the variables are read whatever the command.
 */
import { parseArgs } from 'node:util';
import { OPTION_SPECS } from '../config/options.js';

/** An option's name in code (`poolSize`), as OPTION_SPECS keys it. */
export type OptionKey = (typeof OPTION_SPECS)[number]['key'];

export function flagOf(env: string): string {
  return env
    .replace(/^LLAMONITOR_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

/** A flag the user gave that the command does not take, or a flag without its value. */
export class UsageError extends Error {}

export interface ParsedCommandLine {
  readonly command: string | undefined;
  readonly help: boolean;
  readonly version: boolean;
  /** The environment with the flags given laid over it. */
  readonly env: Record<string, string | undefined>;
  /** The command's own switches given (`print-sql`), which no variable mirrors. */
  readonly switches: ReadonlySet<string>;
  /** The command's own flags with a value given (`--provider openai`), which no variable mirrors. */
  readonly values: ReadonlyMap<string, string>;
  readonly rest: readonly string[];
}

type ParseArgsOptions = Record<string, { type: 'string' } | { type: 'boolean'; short?: string }>;

const GENERAL: ParseArgsOptions = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
};

function specsOf(keys: readonly OptionKey[]) {
  return OPTION_SPECS.filter((spec) => keys.includes(spec.key));
}

/** What a command takes: options mirroring variables, and switches and valued flags of its own. */
export interface CommandOptions {
  readonly options: readonly OptionKey[];
  readonly switches?: readonly string[];
  readonly values?: readonly string[];
}

function parse(
  argv: readonly string[],
  keys: readonly OptionKey[],
  switches: readonly string[] = [],
  valued: readonly string[] = [],
) {
  const options: ParseArgsOptions = { ...GENERAL };
  for (const spec of specsOf(keys)) options[flagOf(spec.env)] = { type: 'string' };
  for (const name of switches) options[name] = { type: 'boolean' };
  for (const name of valued) options[name] = { type: 'string' };
  return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
}

/** parseArgs's wording, shortened to what was wrong. */
function usageError(error: unknown, command: string | undefined): UsageError {
  const message = (error as Error).message;
  const unknown = /Unknown option '([^']+)'/.exec(message);
  const where = command === undefined ? 'llamonitor' : `llamonitor ${command}`;
  if (unknown)
    return new UsageError(`${where} has no option ${unknown[1]}; ${where} --help lists its options`);
  return new UsageError(`${where}: ${message}`);
}

/**
 * Reads `llamonitor <command> [options]`. `optionsOf` gives each command's
 * options (undefined: no such command); a flag that no command takes, or
 * that the named command does not take, is a UsageError.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  optionsOf: (command: string) => CommandOptions | undefined,
  allSwitches: readonly string[] = [],
  allValued: readonly string[] = [],
): ParsedCommandLine {
  let values;
  let positionals;
  // First with every option, to find the command wherever the flags stand; then with the command's own.
  try {
    ({ positionals } = parse(
      argv,
      OPTION_SPECS.map((spec) => spec.key),
      allSwitches,
      allValued,
    ));
  } catch (error) {
    throw usageError(error, undefined);
  }
  const command = positionals[0];
  const taken = command === undefined ? { options: [] } : optionsOf(command);
  if (taken === undefined) {
    return {
      command,
      help: false,
      version: false,
      env: { ...env },
      switches: new Set(),
      values: new Map(),
      rest: [],
    };
  }
  const keys = taken.options;
  try {
    ({ values, positionals } = parse(argv, keys, taken.switches, taken.values));
  } catch (error) {
    throw usageError(error, command);
  }
  const merged: Record<string, string | undefined> = { ...env };
  for (const spec of specsOf(keys)) {
    const value = values[flagOf(spec.env)];
    if (typeof value === 'string') merged[spec.env] = value;
  }
  return {
    command,
    help: values.help === true,
    version: values.version === true,
    env: merged,
    switches: new Set((taken.switches ?? []).filter((name) => values[name] === true)),
    values: new Map(
      (taken.values ?? []).flatMap((name) => {
        const value = values[name];
        return typeof value === 'string' ? [[name, value] as const] : [];
      }),
    ),
    rest: positionals.slice(1),
  };
}

/** One line per option the command takes: flag, variable, default. */
export function optionsHelp(keys: readonly OptionKey[]): string {
  return specsOf(keys)
    .map((spec) => {
      const fallback = spec.defaultValue === undefined ? 'none' : String(spec.defaultValue);
      return `  --${flagOf(spec.env).padEnd(22)} ${spec.env} (default: ${fallback})`;
    })
    .join('\n');
}
