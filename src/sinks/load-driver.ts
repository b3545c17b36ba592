/** Imports a sink's module and driver on first use: a driver that is not installed is named, with what to install. */
import { ConfigError } from '../errors.js';

/** The package a failed import could not find, when the failure is a missing package. */
function missingPackage(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  return /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/']+)/.exec((error as Error).message)?.[1];
}

/** Those of `packages` that cannot be found from here, in their order (import order varies; this does not). */
function notInstalled(packages: readonly string[]): string[] {
  return packages.filter((name) => {
    try {
      import.meta.resolve(name);
      return false;
    } catch (error) {
      return missingPackage(error) === name;
    }
  });
}

/**
 * `importer()`, or a ConfigError saying `npm install <packages>` when one of
 * `packages` (the sink's drivers) is not installed. Another failure is thrown as it is.
 */
export async function importDriver<T>(
  sink: string,
  packages: readonly string[],
  importer: () => Promise<T>,
): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined || !packages.includes(missing)) throw error;
    const found = notInstalled(packages);
    const named = found.length > 0 ? found : [missing];
    const needs =
      named.length === 1
        ? `the ${named[0]} package, which is`
        : `the ${named.join(' and ')} packages, which are`;
    throw new ConfigError(
      `the ${sink} sink needs ${needs} not installed: npm install ${packages.join(' ')}`,
      { code: (error as NodeJS.ErrnoException).code, cause: error },
    );
  }
}
