/**
 * Streaming CSV reader: bytes → StringDecoder (multibyte characters split across
 * chunks are held back) → CsvParser → rows keyed by the header, in batches.
 */
import { StringDecoder } from 'node:string_decoder';
import { SluiceError } from '../../src/core/errors.js';
import { checkOptions, isUnsafeKey, readChunks, OVERSIZE_RAW_CHARS } from './common.js';
import type { FileBatch, ReadOptions, RowResult } from './common.js';
import { CsvParser } from './csv-parse.js';

export interface CsvReadOptions extends ReadOptions {
  /** Numbers become numbers, empty cells null (default true); false keeps every cell a string. */
  inferTypes?: boolean | undefined;
}

// JSON's number grammar: -?digits[.digits][e±digits], without leading zeros, so
// identifiers like "007" stay strings.
/** Characters handed to the parser at a time. */
const PARSE_SLICE = 64 * 1024;

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * The typed value of one cell: '' → null; a number (strict grammar) → number, unless it
 * would not survive the conversion (an integer beyond 2^53, or out of range), which stays
 * a string; anything else, "true"/"false" included, stays a string.
 */
export function inferCell(s: string): unknown {
  if (s === '') return null;
  const c = s.charCodeAt(0);
  if ((c < 48 || c > 57) && c !== 45) return s;
  if (!NUMBER.test(s)) return s;
  const v = Number(s);
  if (!Number.isFinite(v)) return s;
  if (Number.isInteger(v) && !Number.isSafeInteger(v) && /^-?\d+$/.test(s)) return s;
  return v;
}

function describeHeader(header: readonly string[]): string {
  const shown = header.length <= 12 ? header : [...header.slice(0, 12), '…'];
  return shown.join(',');
}

/** Checks header names: none empty, none repeated. */
function checkHeader(path: string, header: string[], line: number): void {
  const seen = new Set<string>();
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!;
    if (name.trim() === '') {
      throw new SluiceError('INVALID_INPUT', `${path}:${line}: header column ${i + 1} has an empty name`, { file: path, line });
    }
    if (seen.has(name)) {
      throw new SluiceError('INVALID_INPUT', `${path}:${line}: header names column "${name}" twice`, { file: path, line });
    }
    seen.add(name);
  }
}

/**
 * Reads CSV (RFC 4180): the first row is the header. Malformed rows become error rows
 * and parsing continues; a bad header (duplicate or empty names) throws INVALID_INPUT
 * before the first batch. `bytesRead` advances a chunk at a time.
 */
export async function* readCsv(path: string, opts: CsvReadOptions): AsyncGenerator<FileBatch> {
  const { batchSize, skipRows, chunkSize, maxRowBytes, signal } = checkOptions(opts);
  const infer = opts.inferTypes ?? true;
  let header: string[] | undefined;
  let expected = '';
  let unsafeHeader = false;
  let toSkip = skipRows;
  let pending: RowResult[] = [];

  const decodeError = (message: string, line: number, raw: string): void => {
    pending.push({ line, error: new SluiceError('DECODE_ERROR', `${path}:${line}: ${message}`, { file: path, line }), raw });
  };

  const parser = new CsvParser(
    {
      row(cells, line, raw) {
        if (header === undefined) {
          checkHeader(path, cells, line);
          header = cells;
          expected = `expected ${cells.length} columns (${describeHeader(cells)})`;
          unsafeHeader = cells.some(isUnsafeKey);
          return;
        }
        if (toSkip > 0) {
          toSkip--;
          return;
        }
        const h = header;
        if (cells.length !== h.length) {
          decodeError(`${expected}, got ${cells.length}`, line, raw);
          return;
        }
        const value: Record<string, unknown> = {};
        if (unsafeHeader) {
          for (let i = 0; i < h.length; i++) {
            Object.defineProperty(value, h[i]!, { value: infer ? inferCell(cells[i]!) : cells[i]!, enumerable: true, writable: true, configurable: true });
          }
        } else if (infer) {
          for (let i = 0; i < h.length; i++) value[h[i]!] = inferCell(cells[i]!);
        } else {
          for (let i = 0; i < h.length; i++) value[h[i]!] = cells[i]!;
        }
        pending.push({ line, value, raw });
      },
      error(message, line, raw) {
        if (header === undefined) {
          throw new SluiceError('DECODE_ERROR', `${path}:${line}: cannot read the header: ${message}`, { file: path, line });
        }
        if (toSkip > 0) {
          toSkip--;
          return;
        }
        decodeError(message, line, raw);
      },
    },
    { maxRowChars: maxRowBytes, oversizeRawChars: OVERSIZE_RAW_CHARS },
  );

  const decoder = new StringDecoder('utf8');
  let bytesRead = 0;
  let first = true;
  for await (const chunk of readChunks(path, chunkSize, signal)) {
    bytesRead += chunk.length;
    let text = decoder.write(chunk);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // Parse in slices so that only about a slice's rows are alive at once (rows that
    // outlive a young-generation GC get promoted, which is what makes parsing slow).
    for (let at = 0; at < text.length; at += PARSE_SLICE) {
      parser.push(at === 0 && text.length <= PARSE_SLICE ? text : text.slice(at, at + PARSE_SLICE));
      if (pending.length >= batchSize) {
        const rows = pending;
        pending = [];
        for (let i = 0; i < rows.length; i += batchSize) {
          if (rows.length - i < batchSize) {
            pending = rows.slice(i);
            break;
          }
          signal?.throwIfAborted();
          yield { rows: i === 0 && rows.length === batchSize ? rows : rows.slice(i, i + batchSize), bytesRead };
        }
      }
    }
  }
  const tail = decoder.end();
  if (tail.length > 0) parser.push(first && tail.charCodeAt(0) === 0xfeff ? tail.slice(1) : tail);
  parser.end();
  for (let i = 0; i < pending.length; i += batchSize) {
    signal?.throwIfAborted();
    yield { rows: pending.slice(i, i + batchSize), bytesRead };
  }
}

/**
 * Reads only the header row of a CSV file (for appending to it); undefined when the file
 * has no rows. Stops reading at the header's end.
 */
export async function readCsvHeader(path: string): Promise<string[] | undefined> {
  let header: string[] | undefined;
  let failure: string | undefined;
  const parser = new CsvParser({
    row(cells) {
      header ??= cells;
    },
    error(message, line) {
      if (header === undefined) failure ??= `${path}:${line}: cannot read the header: ${message}`;
    },
  });
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of readChunks(path, 64 * 1024, undefined)) {
    let text = decoder.write(chunk);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    parser.push(text);
    if (header !== undefined || failure !== undefined) break;
  }
  if (header === undefined && failure === undefined) {
    parser.push(decoder.end());
    parser.end();
  }
  if (failure !== undefined) throw new SluiceError('DECODE_ERROR', failure, { file: path });
  return header;
}
