/**
 * File connectors: streaming readers (JSON Lines, CSV) that yield batches of rows,
 * append-only writers, and path expansion (file, directory, glob). They know bytes and
 * formats, nothing of topologies.
 */
export { expandPaths } from './paths.js';
export type { RowResult, FileBatch, ReadOptions } from './common.js';
export { readJsonl } from './jsonl.js';
export type { JsonlReadOptions } from './jsonl.js';
export { readCsv, readCsvHeader, inferCell } from './csv.js';
export type { CsvReadOptions } from './csv.js';
export { CsvParser } from './csv-parse.js';
export type { CsvSink, CsvParserOptions } from './csv-parse.js';
export { createJsonlWriter, createCsvWriter, formatCsvCell } from './writers.js';
export type { RowWriter, CsvWriterOptions } from './writers.js';
export { readAvroContainer, createAvroContainerWriter } from './avro.js';
export type { AvroReadOptions, AvroWriterOptions } from './avro.js';
