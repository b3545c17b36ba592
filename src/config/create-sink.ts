// Provisional until the sinks land.
import type { ResolvedOptions } from './options.js';
import type { Sink } from '../sinks/sink.js';

export async function createSink(options: ResolvedOptions): Promise<Sink> {
  throw new Error(`no sink for ${options.target.kind} yet`);
}
