/**
 * The package's own console warnings: the few things a user must hear about
 * even when no OpenTelemetry `diag` logger is set (the first failed write,
 * the first spill, no LLM span seen, an unknown LLAMONITOR_* variable). Each
 * cause is printed once per process. With `warnings: false`
 * (LLAMONITOR_WARNINGS=off) nothing is printed and each goes to `diag.warn`
 * instead, for applications that route every message through diag; when
 * printed, diag gets it at debug level, so that a console diag logger does
 * not show it twice.
 */
import { diag } from '@opentelemetry/api';

const PREFIX = 'llamonitor-otel: ';

export type WarningLine = (line: string) => void;

const toStderr: WarningLine = (line) => {
  process.stderr.write(`${line}\n`);
};

/** Causes already printed in this process, shared by every exporter and processor in it. */
const printed = new Set<string>();

export class ConsoleWarnings {
  constructor(
    private readonly enabled: boolean,
    private readonly write: WarningLine = toStderr,
    private readonly seen: Set<string> = printed,
  ) {}

  /** Prints `message` the first time `cause` is warned about in this process; later ones go to diag only. */
  once(cause: string, message: string): void {
    const line = PREFIX + message;
    if (!this.enabled) {
      diag.warn(line);
      return;
    }
    if (this.seen.has(cause)) {
      diag.debug(line);
      return;
    }
    this.seen.add(cause);
    diag.debug(line);
    this.write(line);
  }
}
