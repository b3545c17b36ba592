/**
 * What OpenTelemetry and the exporter reported while a row ran: warnings and
 * errors through `diag` (BatchSpanProcessor's dropped spans, the exporter's
 * failed writes and spills), and the rows left in a spill folder.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';

export class DiagnosticLog {
  readonly messages: string[] = [];
  /** Spans BatchSpanProcessor reported dropping because its queue was full. */
  droppedSpans = 0;

  /** Installs this log as OpenTelemetry's diag logger (warnings and errors). */
  install(): this {
    const keep =
      (level: string) =>
      (message: string, ...args: unknown[]) => {
        const text = [message, ...args.map(String)].join(' ');
        const dropped = /Dropped (\d+) spans because maxQueueSize reached/.exec(text);
        if (dropped) this.droppedSpans += Number(dropped[1]);
        if (this.messages.length < 20) this.messages.push(`${level}: ${text.slice(0, 300)}`);
      };
    const logger: DiagLogger = {
      error: keep('error'),
      warn: keep('warn'),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    };
    diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    return this;
  }
}

/** Files and rows in a spill folder, from the files' headers. */
export function spilledRows(spillDir: string): { files: number; rows: number } {
  if (!existsSync(spillDir)) return { files: 0, rows: 0 };
  const files = readdirSync(spillDir).filter((name) => name.endsWith('.ndjson'));
  let rows = 0;
  for (const name of files) {
    const text = readFileSync(join(spillDir, name), 'utf8');
    rows += (JSON.parse(text.slice(0, text.indexOf('\n'))) as { rows: number }).rows;
  }
  return { files: files.length, rows };
}
