/**
 * LLAMONITOR_* variables that no option reads: most often a typo
 * (LLAMONITOR_URLL), which would otherwise leave a setting silently unused.
 * The known names are the options table's own. Names under the reserved
 * prefixes belong to this repository's tests and benchmarks and are never
 * reported.
 */
import { closestName } from '../closest-name.js';

const VARIABLE_PREFIX = 'LLAMONITOR_';
/** Reserved for the repository's tests (LLAMONITOR_TEST_POSTGRES_URL) and benchmarks (LLAMONITOR_BENCH_*). */
const RESERVED_PREFIXES: readonly string[] = ['LLAMONITOR_TEST_', 'LLAMONITOR_BENCH_'];
/** Variables a CLI command reads rather than an option: `llamonitor serve`'s bearer token. */
export const COMMAND_VARIABLES: readonly string[] = ['LLAMONITOR_SERVE_TOKEN'];

export interface UnknownVariable {
  readonly name: string;
  /** The known variable nearest to it. */
  readonly closest: string;
}

/** The LLAMONITOR_* variables set in `env` (any case) that no option in `specs` reads, sorted by name. */
export function unknownVariables(
  env: Readonly<Record<string, string | undefined>>,
  specs: readonly { readonly env: string }[],
): UnknownVariable[] {
  const known = [...specs.map((spec) => spec.env), ...COMMAND_VARIABLES];
  return Object.keys(env)
    .filter((name) => env[name] !== undefined)
    .filter((name) => name.toUpperCase().startsWith(VARIABLE_PREFIX) && !known.includes(name))
    .filter((name) => !RESERVED_PREFIXES.some((prefix) => name.toUpperCase().startsWith(prefix)))
    .sort()
    .map((name) => ({ name, closest: closestName(name, known) as string }));
}
