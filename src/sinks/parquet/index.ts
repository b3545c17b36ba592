export { parquetSink, type ParquetTarget } from './definition.js';
export {
  ParquetSink,
  ParquetSinkError,
  DEFAULT_FILE_AGE_MILLIS,
  DEFAULT_FILE_ROWS,
  type ParquetSinkOptions,
} from './parquet-sink.js';
