/**
 * Parquet connector: metadata, a streaming columnar reader (row group by row group,
 * with projection and resume), row objects on demand, a streaming writer, and the raw
 * hyparquet decode rate benchmarks compare against. Knows files, nothing of topologies.
 */
export { readParquetMetadata } from './file.js';
export type { ParquetInfo, ParquetColumnInfo, ParquetValueType } from './file.js';
export { readParquetColumns, columnBatchToRows } from './reader.js';
export type { ColumnBatch, ParquetReadOptions } from './reader.js';
export { rawDecodeRowsPerSecond } from './raw.js';
export { createParquetWriter, DEFAULT_ROW_GROUP_SIZE } from './writer.js';
export type { ParquetRowWriter, WritableColumns, ParquetWriterOptions, ParquetWriterColumn, ParquetWriteType, ParquetCodec } from './writer.js';
