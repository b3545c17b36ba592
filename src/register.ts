/**
 * `node --import llamonitor-otel/register app.js` (or `--require` for CommonJS
 * apps): every LLM span the app makes becomes a metric_events row, configured
 * by LLAMONITOR_* variables. A bad value, or an OpenTelemetry package it needs
 * that is not installed, stops start-up with a message and exit code 1.
 *
 * Synchronous throughout (no top-level await, so that `--require` works): the
 * provider must exist before the application's first span. The modules that
 * import OpenTelemetry are loaded only once their packages are known to
 * resolve, with require(): a static import of a missing package would fail
 * before any code here runs, with Node's bare ERR_MODULE_NOT_FOUND.
 */
import { createRequire } from 'node:module';
import { isMainThread, parentPort } from 'node:worker_threads';
import { ConfigError } from './errors.js';
import { registerEsmLoaderHook } from './export/esm-loader-hook.js';
import { missingPackagesMessage, REGISTER_PACKAGES } from './export/required-packages.js';

function stop(message: string): never {
  process.stderr.write(`llamonitor-otel: ${message}\n`);
  process.exit(1);
}

/**
 * Node 20 runs `--require` modules again in the thread of its module loader hooks once any are
 * registered: a thread with no parent port, unlike the application's workers. Nothing is traced there.
 */
const inLoaderHooksThread = !isMainThread && parentPort === null;

function register(): void {
  const missing = missingPackagesMessage(REGISTER_PACKAGES, (specifier) => import.meta.resolve(specifier));
  if (missing !== undefined) stop(missing);

  if (isMainThread) registerEsmLoaderHook();

  let registration: typeof import('./export/global-registration.js');
  try {
    registration = createRequire(import.meta.url)('./export/global-registration.js') as typeof registration;
  } catch (error) {
    // A package the check above cannot know of (one of theirs) is missing: say which, not a stack.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    stop(`llamonitor-otel/register could not load: ${(error as Error).message}`);
  }

  try {
    registration.registerGlobally();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stop(error.message);
  }
}

if (!inLoaderHooksThread) register();
