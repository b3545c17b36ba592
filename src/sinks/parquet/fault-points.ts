/**
 * Named points where a crash test stops the writer, so that it kills the
 * process in a chosen window every time instead of racing it. Inert unless
 * the process was started with LLAMONITOR_TEST_PAUSE_AT=<point>[:<n>]: the
 * n-th time (1 by default) a thread reaches <point>, it writes
 * `paused at <point> <n>` to stdout and blocks until the process is killed.
 */
import { writeSync } from 'node:fs';

export type FaultPoint =
  'parquet-before-rename' | 'compact-before-journal' | 'compact-before-rename' | 'compact-before-delete';

const setting = /^([a-z-]+)(?::(\d+))?$/.exec(process.env.LLAMONITOR_TEST_PAUSE_AT ?? '');
const pausePoint = setting?.[1];
const pauseAt = Number(setting?.[2] ?? 1);
let reached = 0;

export function faultPoint(point: FaultPoint): void {
  if (point !== pausePoint) return;
  reached += 1;
  if (reached !== pauseAt) return;
  writeSync(1, `paused at ${point} ${reached}\n`); // straight to the file descriptor: the thread blocks next
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
