/**
 * Line writers that append rows to a file (JSONL or CSV). A batch is encoded whole
 * before anything is written, so a row that cannot be encoded fails the write with
 * nothing of that batch in the file. write() resolves once fs.write has handed the
 * data to the OS, which is also the backpressure: await each write before the next.
 *
 * Appending is safe for resuming: if the file does not end with a newline (a crash
 * mid-write), a newline is written first; a CSV file that already has a header keeps
 * it (and its column order) and gets no second header.
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { toJson } from '../../src/core/json.js';
import { SluiceError } from '../../src/core/errors.js';
import { readCsvHeader } from './csv.js';

export interface RowWriter {
  /** Appends the rows; resolves once the data is handed to the OS. */
  write(values: Record<string, unknown>[]): Promise<void>;
  /** Flushes and closes the file. Idempotent. */
  close(): Promise<void>;
  readonly rowsWritten: number;
}

export interface CsvWriterOptions {
  /** Columns and their order; default: the keys of the first row written (or the existing file's header). */
  columns?: string[] | undefined;
}

function fsError(err: unknown, path: string, doing: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return new SluiceError('NOT_FOUND', `${doing} ${path}: ${msg}`, { file: path }, { cause: err });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EISDIR' || code === 'ENOTDIR') {
    return new SluiceError('INVALID_INPUT', `${doing} ${path}: ${msg}`, { file: path }, { cause: err });
  }
  return new SluiceError('STORAGE_ERROR', `${doing} ${path}: ${msg}`, { file: path }, { cause: err });
}

/** Size of the existing file (0 when absent) and whether its last byte is not a newline. */
async function inspectExisting(path: string): Promise<{ size: number; needsNewline: boolean }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return { size: 0, needsNewline: false };
    throw fsError(err, path, 'cannot open');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SluiceError('INVALID_INPUT', `cannot write to ${path}: not a regular file`, { file: path });
    if (st.size === 0) return { size: 0, needsNewline: false };
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, st.size - 1);
    return { size: st.size, needsNewline: b[0] !== 10 };
  } finally {
    await fh.close();
  }
}

async function openAppend(path: string): Promise<WriteStream> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (err) {
    throw fsError(err, path, 'cannot create the directory of');
  }
  const stream = createWriteStream(path, { flags: 'a' });
  try {
    await once(stream, 'open');
  } catch (err) {
    throw fsError(err, path, 'cannot open');
  }
  return stream;
}

class StreamRowWriter implements RowWriter {
  private readonly stream: WriteStream;
  private readonly path: string;
  private readonly encode: (values: Record<string, unknown>[]) => string;
  private readonly finalText: () => string;
  private prefix: string;
  private failure: SluiceError | undefined;
  private closing: Promise<void> | undefined;
  private count = 0;

  constructor(
    stream: WriteStream,
    path: string,
    prefix: string,
    encode: (values: Record<string, unknown>[]) => string,
    finalText: () => string = () => '',
  ) {
    this.stream = stream;
    this.path = path;
    this.prefix = prefix;
    this.encode = encode;
    this.finalText = finalText;
    // Without a listener an fs error would crash the process; write() and close() report it.
    stream.on('error', (err) => {
      this.failure ??= fsError(err, path, 'cannot write');
    });
  }

  get rowsWritten(): number {
    return this.count;
  }

  async write(values: Record<string, unknown>[]): Promise<void> {
    if (this.closing) throw new SluiceError('INVALID_INPUT', `cannot write to ${this.path}: the writer is closed`, { file: this.path });
    if (this.failure) throw this.failure;
    if (values.length === 0) return;
    const text = this.prefix + this.encode(values);
    this.prefix = '';
    await this.send(text);
    this.count += values.length;
  }

  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    const text = this.prefix + this.finalText();
    this.prefix = '';
    if (text.length > 0) await this.send(text);
    if (this.stream.closed) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: unknown): void => reject(fsError(err, this.path, 'cannot close'));
      this.stream.once('error', onError);
      this.stream.once('close', () => {
        this.stream.off('error', onError);
        if (this.failure) reject(this.failure);
        else resolve();
      });
      this.stream.end();
    });
  }

  private send(text: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.stream.write(text, (err) => {
        if (err) reject((this.failure ??= fsError(err, this.path, 'cannot write')));
        else resolve();
      });
    });
  }
}

function encodeError(path: string, index: number, err: unknown): SluiceError {
  const msg = err instanceof Error ? err.message : String(err);
  return new SluiceError('INVALID_INPUT', `cannot write row ${index} to ${path}: ${msg}`, { file: path }, { cause: err });
}

/** A writer of JSON Lines (one JSON object per line); creates parent directories. */
export async function createJsonlWriter(path: string): Promise<RowWriter> {
  const { needsNewline } = await inspectExisting(path);
  const stream = await openAppend(path);
  return new StreamRowWriter(stream, path, needsNewline ? '\n' : '', (values) => {
    let out = '';
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      let line: string | undefined;
      try {
        line = toJson(v);
      } catch (err) {
        throw encodeError(path, i, err);
      }
      if (typeof line !== 'string' || v === null || typeof v !== 'object' || Array.isArray(v)) {
        throw encodeError(path, i, new Error(`expected an object, got ${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`));
      }
      out += line + '\n';
    }
    return out;
  });
}

const NEEDS_QUOTES = /[",\r\n]/;

function isEdgeSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** One CSV cell: quoted when it holds a comma, quote, CR/LF, or starts/ends with a space. */
export function formatCsvCell(v: unknown): string {
  let s: string;
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  else if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
  else if (typeof v === 'object') s = toJson(v) ?? '';
  else if (typeof v === 'function' || typeof v === 'symbol') return '';
  else s = String(v);
  if (s.length === 0) return s;
  if (NEEDS_QUOTES.test(s) || isEdgeSpace(s.charCodeAt(0)) || isEdgeSpace(s.charCodeAt(s.length - 1))) {
    return '"' + s.replaceAll('"', '""') + '"';
  }
  return s;
}

function formatCsvRow(cells: readonly unknown[]): string {
  let out = '';
  for (let i = 0; i < cells.length; i++) {
    if (i > 0) out += ',';
    out += formatCsvCell(cells[i]);
  }
  return out + '\n';
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A CSV writer: header from `columns` or the first row's keys; fields not in the columns
 * are ignored, missing ones written empty; null/undefined → empty; objects/arrays → JSON
 * text; Dates → ISO text. Appending to a CSV that has a header keeps that header (and
 * throws INVALID_INPUT if `columns` disagree with it).
 */
export async function createCsvWriter(path: string, opts: CsvWriterOptions = {}): Promise<RowWriter> {
  let columns = opts.columns ? [...opts.columns] : undefined;
  if (columns) {
    if (columns.length === 0) throw new SluiceError('INVALID_INPUT', `CSV writer for ${path}: columns must not be empty`, { file: path });
    if (new Set(columns).size !== columns.length) throw new SluiceError('INVALID_INPUT', `CSV writer for ${path}: columns repeat a name`, { file: path });
  }
  const { size, needsNewline } = await inspectExisting(path);
  let headerWritten = false;
  if (size > 0) {
    const existing = await readCsvHeader(path);
    if (existing) {
      if (columns && !sameColumns(columns, existing)) {
        throw new SluiceError(
          'INVALID_INPUT',
          `${path} already has the header ${existing.join(',')}; the writer was given ${columns.join(',')}`,
          { file: path },
        );
      }
      columns = existing;
      headerWritten = true;
    }
  }
  const stream = await openAppend(path);
  const header = (): string => {
    if (headerWritten || !columns) return '';
    headerWritten = true;
    return formatCsvRow(columns);
  };
  return new StreamRowWriter(
    stream,
    path,
    needsNewline ? '\n' : '',
    (values) => {
      columns ??= Object.keys(values[0]!);
      const cols = columns;
      let out = headerWritten ? '' : formatCsvRow(cols);
      const cells: unknown[] = new Array<unknown>(cols.length);
      for (let i = 0; i < values.length; i++) {
        const row = values[i]!;
        for (let j = 0; j < cols.length; j++) {
          const k = cols[j]!;
          cells[j] = Object.hasOwn(row, k) ? row[k] : undefined; // not inherited (e.g. "constructor")
        }
        try {
          out += formatCsvRow(cells);
        } catch (err) {
          throw encodeError(path, i, err);
        }
      }
      headerWritten = true;
      return out;
    },
    header,
  );
}
