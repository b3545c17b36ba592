/**
 * Command-line options mirror the LLAMONITOR_* variables: --pool-size for
 * LLAMONITOR_POOL_SIZE, and so on. A flag wins over its variable; both are
 * checked by the same rules (config/options.ts).
 */
import { parseArgs } from 'node:util';
import { OPTION_SPECS } from '../config/options.js';

export function flagOf(env: string): string {
  return env
    .replace(/^LLAMONITOR_/, '')
    .toLowerCase()
    .replaceAll('_', '-');
}

export interface ParsedCommandLine {
  readonly command: string | undefined;
  readonly help: boolean;
  /** The environment with the flags given laid over it. */
  readonly env: Record<string, string | undefined>;
  readonly rest: readonly string[];
}

export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCommandLine {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const spec of OPTION_SPECS) options[flagOf(spec.env)] = { type: 'string' };
  const { values, positionals } = parseArgs({
    args: [...argv],
    options,
    allowPositionals: true,
    strict: true,
  });
  const merged: Record<string, string | undefined> = { ...env };
  for (const spec of OPTION_SPECS) {
    const value = values[flagOf(spec.env)];
    if (typeof value === 'string') merged[spec.env] = value;
  }
  return { command: positionals[0], help: values.help === true, env: merged, rest: positionals.slice(1) };
}

export function optionsHelp(): string {
  return OPTION_SPECS.map((spec) => {
    const fallback = spec.defaultValue === undefined ? 'none' : String(spec.defaultValue);
    return `  --${flagOf(spec.env).padEnd(22)} ${spec.env} (default: ${fallback})`;
  }).join('\n');
}
