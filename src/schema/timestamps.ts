/**
 * Timestamps travel as ISO-8601 strings with six fractional digits and `Z`:
 * a JavaScript Date holds only milliseconds, and spans carry microseconds.
 */

/** OpenTelemetry's HrTime, [seconds, nanoseconds]. */
export type HrTime = readonly [number, number];

/** `2026-01-02T03:04:05.123456Z` from an HrTime; null when the time is not a finite, representable instant. */
export function hrTimeToIsoMicros(time: HrTime): string | null {
  const [seconds, nanos] = time;
  if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) return null;
  let whole = Math.floor(seconds);
  let micros = Math.floor(((seconds - whole) * 1e9 + nanos) / 1000);
  whole += Math.floor(micros / 1_000_000);
  micros = ((micros % 1_000_000) + 1_000_000) % 1_000_000;
  const prefix = secondPrefix(whole);
  return prefix === null ? null : `${prefix}.${String(micros).padStart(6, '0')}Z`;
}

// Spans of one batch share their second: the date text is formatted once per second seen.
let lastSecond = NaN;
let lastPrefix: string | null = null;

/** `2026-01-02T03:04:05` for whole seconds since the epoch; null outside years 1 to 9999. */
function secondPrefix(seconds: number): string | null {
  if (seconds === lastSecond) return lastPrefix;
  const date = new Date(seconds * 1000);
  const valid = !Number.isNaN(date.getTime()) && date.getUTCFullYear() >= 1 && date.getUTCFullYear() <= 9999;
  lastSecond = seconds;
  lastPrefix = valid ? date.toISOString().slice(0, 19) : null;
  return lastPrefix;
}

/** `2026-01-02 03:04:05.123456`: MySQL DATETIME(6) text, UTC. */
export function isoMicrosToMySql(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 26)}`;
}

/** Microseconds since the Unix epoch, exact, for Parquet's TIMESTAMP(MICROS). */
export function isoMicrosToEpochMicros(iso: string): bigint {
  const millis = Date.parse(`${iso.slice(0, 19)}Z`);
  return BigInt(millis) * 1000n + BigInt(iso.slice(20, 26));
}

/** The ISO string back from epoch microseconds (what a Parquet reader returns). */
export function epochMicrosToIsoMicros(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const rest = micros % 1_000_000n;
  const wholeSeconds = rest < 0n ? seconds - 1n : seconds;
  const fraction = rest < 0n ? rest + 1_000_000n : rest;
  const date = new Date(Number(wholeSeconds) * 1000);
  return `${date.toISOString().slice(0, 19)}.${fraction.toString().padStart(6, '0')}Z`;
}
