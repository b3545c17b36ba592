/**
 * `node --import llamonitor-otel/register app.js` (or `--require` for CommonJS
 * apps): every LLM span the app makes becomes a metric_events row, configured
 * by LLAMONITOR_* variables. A bad value stops start-up with a message.
 */
import { ConfigError } from './errors.js';
import { registerGlobally } from './export/global-registration.js';

try {
  registerGlobally();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`llamonitor-otel: ${error.message}\n`);
  process.exit(1);
}
