/** Collects what the package logs through OpenTelemetry's diag, for tests that check warnings. */
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';

export interface CapturedLog {
  readonly level: 'error' | 'warn' | 'info' | 'debug' | 'verbose';
  readonly message: string;
}

export function captureDiag(level = DiagLogLevel.ALL): { logs: CapturedLog[]; stop: () => void } {
  const logs: CapturedLog[] = [];
  const record =
    (lvl: CapturedLog['level']) =>
    (message: string, ...args: unknown[]) =>
      logs.push({ level: lvl, message: [message, ...args.map(String)].join(' ') });
  const logger: DiagLogger = {
    error: record('error'),
    warn: record('warn'),
    info: record('info'),
    debug: record('debug'),
    verbose: record('verbose'),
  };
  diag.setLogger(logger, { logLevel: level, suppressOverrideMessage: true });
  return { logs, stop: () => diag.disable() };
}
