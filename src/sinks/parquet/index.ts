export { parquetSink, type ParquetTarget } from './definition.js';
export {
  ParquetSink,
  ParquetSinkError,
  DEFAULT_FILE_AGE_MILLIS,
  DEFAULT_FILE_ROWS,
  type ParquetSinkOptions,
  type RecoveryReport,
} from './parquet-sink.js';
export { recoverDataset } from './recover-dataset.js';
export { describeWaitingSegments, type WaitingOwner, type WaitingSegments } from './waiting-segments.js';
