/**
 * `llamonitor recover`: converts the segments that ended processes left in a
 * dataset, those of other hosts included (a pod gone from shared storage)
 * when their lease is missing or stale, then stops.
 */
import { ParquetSink, type ParquetSinkOptions, type RecoveryReport } from './parquet-sink.js';

export async function recoverDataset(
  directory: string,
  options: ParquetSinkOptions,
): Promise<RecoveryReport> {
  const sink = new ParquetSink(directory, { ...options, recoverOtherHosts: true });
  try {
    await sink.prepare();
    return sink.recoveryReport as RecoveryReport;
  } finally {
    await sink.close();
  }
}
