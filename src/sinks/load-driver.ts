/** Imports a sink's module and driver on first use: a driver that is not installed is named, with what to install. */
import { ConfigError } from '../errors.js';

/** The package a failed import could not find, when the failure is a missing package. */
function missingPackage(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  return /Cannot find (?:package|module) '((?:@[^/']+\/)?[^/']+)/.exec((error as Error).message)?.[1];
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
    throw new ConfigError(
      `the ${sink} sink needs the ${missing} package, which is not installed: npm install ${packages.join(' ')}`,
      { code: (error as NodeJS.ErrnoException).code, cause: error },
    );
  }
}
