/**
 * Streaming JSON Lines reader. Works on bytes: newlines are found with
 * Buffer.indexOf (0x0A never occurs inside a multibyte UTF-8 sequence), so each line
 * is decoded once and `bytesRead` is exact. A line split across chunks is carried as
 * a list of pieces, joined once when its newline arrives.
 */
import { SluiceError } from '../../src/core/errors.js';
import { checkOptions, readChunks, OVERSIZE_RAW_CHARS } from './common.js';
import type { FileBatch, ReadOptions, RowResult } from './common.js';

export type JsonlReadOptions = ReadOptions;

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function isBlank(text: string): boolean {
  // Fast path: almost every line starts with '{'.
  return text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim().length === 0);
}

/**
 * Reads JSON Lines: one JSON object per line; blank lines skipped; a line that does not
 * parse or is not an object becomes an error row ("file.jsonl:12: not valid JSON: ...").
 * Handles \r\n, a UTF-8 BOM and a last line without newline.
 */
export async function* readJsonl(path: string, opts: JsonlReadOptions): AsyncGenerator<FileBatch> {
  const { batchSize, skipRows, chunkSize, maxRowBytes, signal } = checkOptions(opts);
  let batch: RowResult[] = [];
  let consumed = 0; // bytes up to the end of the last complete line
  let line = 0; // number of the last line started
  let toSkip = skipRows;
  let pieces: Buffer[] = []; // the current line's bytes from earlier chunks
  let piecesLen = 0;
  let discarding = false; // inside an oversized line, already reported

  const handle = (text: string, n: number): void => {
    if (n === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    if (isBlank(text)) return;
    if (toSkip > 0) {
      toSkip--;
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      batch.push({ line: n, error: new SluiceError('DECODE_ERROR', `${path}:${n}: not valid JSON: ${msg}`, { file: path, line: n }), raw: text });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const error = new SluiceError('DECODE_ERROR', `${path}:${n}: expected a JSON object, got ${kindOf(value)}`, { file: path, line: n });
      batch.push({ line: n, error, raw: text });
      return;
    }
    batch.push({ line: n, value: value as Record<string, unknown>, raw: text });
  };

  const oversize = (n: number, head: string): void => {
    if (toSkip > 0) {
      toSkip--;
      return;
    }
    const msg = `${path}:${n}: line is longer than ${maxRowBytes} bytes`;
    batch.push({ line: n, error: new SluiceError('DECODE_ERROR', msg, { file: path, line: n }), raw: head.slice(0, OVERSIZE_RAW_CHARS) });
  };

  for await (const chunk of readChunks(path, chunkSize, signal)) {
    let pos = 0;
    const len = chunk.length;
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      if (nl === -1) break;
      line++;
      if (discarding) {
        discarding = false;
      } else if (nl - pos + piecesLen > maxRowBytes) {
        pieces.push(chunk.subarray(pos, Math.min(nl, pos + OVERSIZE_RAW_CHARS * 4)));
        oversize(line, Buffer.concat(pieces).toString('utf8', 0, OVERSIZE_RAW_CHARS * 4));
      } else if (piecesLen === 0) {
        handle(chunk.toString('utf8', pos, nl), line);
      } else {
        pieces.push(chunk.subarray(pos, nl));
        handle(Buffer.concat(pieces).toString('utf8'), line);
      }
      consumed += nl + 1 - pos + piecesLen;
      pieces = [];
      piecesLen = 0;
      pos = nl + 1;
      if (batch.length >= batchSize) {
        signal?.throwIfAborted();
        yield { rows: batch, bytesRead: consumed };
        batch = [];
      }
    }
    if (pos < len) {
      if (discarding) {
        consumed += len - pos;
      } else {
        // Copy: the rest of this chunk must not pin (or alias) the read buffer.
        pieces.push(Buffer.from(chunk.subarray(pos)));
        piecesLen += len - pos;
        if (piecesLen > maxRowBytes) {
          const head = Buffer.concat(pieces).toString('utf8', 0, Math.min(piecesLen, OVERSIZE_RAW_CHARS * 4));
          oversize(line + 1, head);
          consumed += piecesLen;
          pieces = [];
          piecesLen = 0;
          discarding = true;
        }
      }
    }
    if (batch.length >= batchSize) {
      signal?.throwIfAborted();
      yield { rows: batch, bytesRead: consumed };
      batch = [];
    }
  }
  if (piecesLen > 0) {
    line++;
    handle(Buffer.concat(pieces).toString('utf8'), line);
    consumed += piecesLen;
  }
  if (batch.length > 0) {
    signal?.throwIfAborted();
    yield { rows: batch, bytesRead: consumed };
  }
}
