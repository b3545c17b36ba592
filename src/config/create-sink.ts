/**
 * The sink the options name. Its URL was checked when the options were
 * resolved (sinks/registry.ts); its module and driver are loaded here, on first
 * use, so the driver of a sink not in use is never required.
 */
import type { Sink } from '../sinks/sink.js';
import type { ResolvedOptions } from './options.js';

/** Builds the sink; a ConfigError saying what to npm install when its driver is missing. */
export function createSink(options: ResolvedOptions): Promise<Sink> {
  return options.target.create(options);
}
