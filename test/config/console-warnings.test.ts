import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleWarnings } from '../../src/warnings.js';

/** A diag logger that keeps what each level received. */
function captureDiag(): Record<'warn' | 'debug', string[]> {
  const seen = { warn: [] as string[], debug: [] as string[] };
  const ignore = () => undefined;
  const logger: DiagLogger = {
    error: ignore,
    info: ignore,
    verbose: ignore,
    warn: (message) => void seen.warn.push(message),
    debug: (message) => void seen.debug.push(message),
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  return seen;
}

describe('the console warnings', () => {
  afterEach(() => diag.disable());

  it('prints each cause once, prefixed, and hands every occurrence to diag at debug level', () => {
    const lines: string[] = [];
    const seenByDiag = captureDiag();
    const warnings = new ConsoleWarnings(true, (line) => lines.push(line), new Set());
    warnings.once('spill', 'spilled 3 rows');
    warnings.once('spill', 'spilled 5 rows');
    warnings.once('no-llm-span', 'no LLM span seen');
    expect(lines).toEqual(['llamonitor-otel: spilled 3 rows', 'llamonitor-otel: no LLM span seen']);
    expect(seenByDiag.debug.filter((line) => line.startsWith('llamonitor-otel: '))).toHaveLength(3);
    expect(seenByDiag.warn).toEqual([]);
  });

  it('prints nothing when off, and sends every warning to diag.warn instead', () => {
    const lines: string[] = [];
    const seenByDiag = captureDiag();
    const warnings = new ConsoleWarnings(false, (line) => lines.push(line), new Set());
    warnings.once('spill', 'spilled 3 rows');
    warnings.once('spill', 'spilled 5 rows');
    expect(lines).toEqual([]);
    expect(seenByDiag.warn).toEqual(['llamonitor-otel: spilled 3 rows', 'llamonitor-otel: spilled 5 rows']);
  });
});
