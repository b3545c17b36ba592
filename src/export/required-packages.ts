/**
 * The OpenTelemetry packages the register entry needs, and what to say when
 * some are not installed: the application installs them (peer dependencies,
 * so that it keeps one copy of each), and a fresh application often lacks the
 * two that only the register entry uses.
 */

/** What `llamonitor-otel/register` loads, in the order an install command lists them. */
export const REGISTER_PACKAGES: readonly string[] = [
  '@opentelemetry/api',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/resources',
];

/**
 * The message naming the packages that do not resolve and the command that installs them, or undefined
 * when all resolve. `resolve` throws for a package that is not installed (import.meta.resolve does).
 */
export function missingPackagesMessage(
  packages: readonly string[],
  resolve: (specifier: string) => unknown,
): string | undefined {
  const missing = packages.filter((name) => {
    try {
      resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return undefined;
  const names = missing.join(' ');
  const listed = missing.length === 1 ? names : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
  return (
    `llamonitor-otel/register needs ${listed}, ${missing.length === 1 ? 'which is' : 'which are'} not installed. ` +
    `Install ${missing.length === 1 ? 'it' : 'them'} in your application: npm install ${names}`
  );
}
