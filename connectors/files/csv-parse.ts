/**
 * An incremental RFC 4180 CSV parser: a small state machine over decoded chunk strings
 * that carries a partial row (its cells, the current field and its raw text) across
 * chunks, so a chunk may end anywhere: inside a quoted field, between a quote and its
 * escape, or between \r and \n.
 *
 * Rows end at \n, \r\n or a lone \r outside quotes. Blank lines are skipped. A malformed
 * row (a quote inside an unquoted field, text after a closing quote) is reported through
 * `sink.error` and skipped to the end of its line; parsing continues with the next row.
 * Line numbers count physical lines, including newlines inside quoted fields.
 */

export interface CsvSink {
  /** A complete row. `line` is the 1-based line where it starts; `raw` its text without the line terminator. */
  row(cells: string[], line: number, raw: string): void;
  /** A row that could not be parsed; `message` says why (without file or line). */
  error(message: string, line: number, raw: string): void;
}

export interface CsvParserOptions {
  /** A row longer than this many characters is reported and skipped to its line end. Default 64 Mi. */
  maxRowChars?: number | undefined;
  /** Raw text kept on an oversized-row error. Default 1024. */
  oversizeRawChars?: number | undefined;
}

const COMMA = 44;
const QUOTE = 34;
const LF = 10;
const CR = 13;

const FIELD_START = 0; // at the start of a field (or of a row, when no cells yet)
const UNQUOTED = 1; // inside an unquoted field
const QUOTED = 2; // inside a quoted field
const AFTER_QUOTE = 3; // just read a quote inside a quoted field: an escape, or the closing quote
const SKIP = 4; // skipping a bad row up to its line end

export class CsvParser {
  private readonly sink: CsvSink;
  private readonly maxRowChars: number;
  private readonly oversizeRawChars: number;
  private state = FIELD_START;
  private cells: string[] = [];
  /** The current field's text read so far (from earlier chunks, or before a "" escape). */
  private field = '';
  /** The current row's raw text from earlier chunks. */
  private rawCarry = '';
  /** The physical line at the parse position. */
  private line = 1;
  /** The line where the current row starts. */
  private rowLine = 1;
  /** The previous chunk ended with a \r row terminator: a leading \n belongs to it. */
  private skipLF = false;
  /** Why the row being skipped is bad; '' when it was already reported (oversized). */
  private skipMessage = '';
  private ended = false;

  constructor(sink: CsvSink, opts: CsvParserOptions = {}) {
    this.sink = sink;
    this.maxRowChars = opts.maxRowChars ?? 64 * 1024 * 1024;
    this.oversizeRawChars = opts.oversizeRawChars ?? 1024;
  }

  /** Parses the next piece of text. Complete rows go to the sink before this returns. */
  push(s: string): void {
    if (this.ended) throw new Error('CsvParser: push() after end()');
    const n = s.length;
    if (n === 0) return;
    let i = 0;
    if (this.skipLF) {
      this.skipLF = false;
      if (s.charCodeAt(0) === LF) i = 1;
    }
    let state = this.state;
    let field = this.field;
    let cells = this.cells;
    let rowStart = i; // where the current row's raw text starts in s
    let seg = i; // where the current field's unread text starts in s

    while (i < n) {
      if (state === FIELD_START) {
        const c = s.charCodeAt(i);
        if (c === QUOTE) {
          state = QUOTED;
          seg = ++i;
        } else if (c === COMMA) {
          cells.push('');
          i++;
          continue;
        } else if (c === LF || c === CR) {
          if (cells.length > 0) {
            cells.push('');
            this.sink.row(cells, this.rowLine, this.rawCarry + s.slice(rowStart, i));
            cells = [];
            this.rawCarry = '';
          }
          i = this.eol(s, i);
          rowStart = i;
          this.rowLine = this.line;
          continue;
        } else {
          state = UNQUOTED;
          seg = i++;
        }
      }

      if (state === UNQUOTED) {
        let c = 0;
        for (; i < n; i++) {
          c = s.charCodeAt(i);
          if (c === COMMA || c === LF || c === CR || c === QUOTE) break;
        }
        if (i === n) break;
        if (c === QUOTE) {
          state = SKIP;
          this.skipMessage = `unexpected quote in unquoted field (column ${cells.length + 1})`;
          field = '';
          continue;
        }
        cells.push(field === '' ? s.slice(seg, i) : field + s.slice(seg, i));
        field = '';
        if (c === COMMA) {
          state = FIELD_START;
          i++;
          continue;
        }
        this.sink.row(cells, this.rowLine, this.rawCarry + s.slice(rowStart, i));
        cells = [];
        this.rawCarry = '';
        state = FIELD_START;
        i = this.eol(s, i);
        rowStart = i;
        this.rowLine = this.line;
        continue;
      }

      if (state === QUOTED) {
        let c = 0;
        for (; i < n; i++) {
          c = s.charCodeAt(i);
          if (c === QUOTE) break;
          if (c === LF) this.line++;
        }
        if (i === n) break;
        field += s.slice(seg, i);
        state = AFTER_QUOTE;
        i++;
        continue;
      }

      if (state === AFTER_QUOTE) {
        const c = s.charCodeAt(i);
        if (c === QUOTE) {
          // "" inside quotes: the second quote starts the next segment of the field.
          state = QUOTED;
          seg = i++;
          continue;
        }
        if (c === COMMA) {
          cells.push(field);
          field = '';
          state = FIELD_START;
          i++;
          continue;
        }
        if (c === LF || c === CR) {
          cells.push(field);
          field = '';
          this.sink.row(cells, this.rowLine, this.rawCarry + s.slice(rowStart, i));
          cells = [];
          this.rawCarry = '';
          state = FIELD_START;
          i = this.eol(s, i);
          rowStart = i;
          this.rowLine = this.line;
          continue;
        }
        state = SKIP;
        this.skipMessage = `unexpected character after closing quote (column ${cells.length + 1})`;
        field = '';
        continue;
      }

      // SKIP: up to the line end, quotes or not.
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c === LF || c === CR) break;
      }
      if (i === n) break;
      if (this.skipMessage !== '') this.sink.error(this.skipMessage, this.rowLine, this.rawCarry + s.slice(rowStart, i));
      this.skipMessage = '';
      cells = [];
      this.rawCarry = '';
      state = FIELD_START;
      i = this.eol(s, i);
      rowStart = i;
      this.rowLine = this.line;
    }

    // End of chunk: carry the partial row.
    if (state === UNQUOTED || state === QUOTED) field += s.slice(seg, n);
    if (state === SKIP && this.skipMessage === '') {
      // Skipping an oversized row that was already reported: keep nothing.
    } else if (rowStart < n) {
      this.rawCarry += s.slice(rowStart, n);
      if (this.rawCarry.length > this.maxRowChars) {
        if (state !== SKIP || this.skipMessage !== '') {
          this.sink.error(`row is longer than ${this.maxRowChars} characters (unterminated quoted field?)`, this.rowLine, this.rawCarry.slice(0, this.oversizeRawChars));
        }
        state = SKIP;
        this.skipMessage = '';
        this.rawCarry = '';
        field = '';
        cells = [];
      }
    }
    this.state = state;
    this.field = field;
    this.cells = cells;
  }

  /** Ends the input: a last row without a line terminator is emitted; an open quoted field is an error. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const raw = this.rawCarry;
    switch (this.state) {
      case QUOTED:
        this.sink.error('unterminated quoted field at end of file', this.rowLine, raw);
        break;
      case UNQUOTED:
      case AFTER_QUOTE:
        this.cells.push(this.field);
        this.sink.row(this.cells, this.rowLine, raw);
        break;
      case FIELD_START:
        if (this.cells.length > 0) {
          this.cells.push('');
          this.sink.row(this.cells, this.rowLine, raw);
        }
        break;
      case SKIP:
        if (this.skipMessage !== '') this.sink.error(this.skipMessage, this.rowLine, raw);
        break;
    }
    this.cells = [];
    this.field = '';
    this.rawCarry = '';
  }

  /** Consumes the line terminator at s[i] (\n, \r\n or \r) and returns the index after it. */
  private eol(s: string, i: number): number {
    this.line++;
    if (s.charCodeAt(i) === CR) {
      if (i + 1 < s.length) return s.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
      this.skipLF = true;
    }
    return i + 1;
  }
}
