import { SluiceError } from '../core/errors.js';

export type TokenKind = 'number' | 'string' | 'name' | 'variable' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text of the token (for strings: the decoded value). */
  text: string;
  /** Decoded literal value for numbers. */
  num: number;
  /** 0-based offsets into the source. */
  start: number;
  end: number;
}

// Longest first, so `**` wins over `*` and `<=` over `<`.
const PUNCT = ['**', '==', '!=', '<=', '>=', '&&', '||', '+', '-', '*', '/', '%', '<', '>', '!', '?', ':', '(', ')', '[', ']', ',', '.'];

const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", '/': '/', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0' };

/** A syntax error: message names the source, the 1-based column and draws a caret under it. */
export function syntaxError(source: string, offset: number, message: string, hint = ''): SluiceError {
  const column = offset + 1;
  const shown = source.replace(/[\n\r\t]/g, ' ');
  return new SluiceError(
    'EXPRESSION_ERROR',
    `${message} at column ${column} in expression ${JSON.stringify(source)}${hint}\n  ${shown}\n  ${' '.repeat(offset)}^`,
    { column, expression: source },
  );
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isNameStart = (c: string | undefined): boolean => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
const isNamePart = (c: string | undefined): boolean => isNameStart(c) || isDigit(c);

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const n = source.length;
  let i = 0;
  const push = (kind: TokenKind, text: string, start: number, num = 0): void => {
    tokens.push({ kind, text, num, start, end: i });
  };
  while (i < n) {
    const c = source[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    const start = i;
    if (isDigit(c)) {
      while (isDigit(source[i])) i++;
      if (source[i] === '.' && isDigit(source[i + 1])) { i++; while (isDigit(source[i])) i++; }
      if (source[i] === 'e' || source[i] === 'E') {
        let j = i + 1;
        if (source[j] === '+' || source[j] === '-') j++;
        if (!isDigit(source[j])) throw syntaxError(source, start, `invalid number "${source.slice(start, j)}"`);
        i = j;
        while (isDigit(source[i])) i++;
      }
      if (isNamePart(source[i]) || source[i] === '.') {
        while (isNamePart(source[i]) || source[i] === '.') i++;
        throw syntaxError(source, start, `invalid number "${source.slice(start, i)}"`);
      }
      const text = source.slice(start, i);
      push('number', text, start, Number(text));
      continue;
    }
    if (isNameStart(c) || c === '$') {
      i++;
      while (isNamePart(source[i])) i++;
      if (c === '$' && i === start + 1) throw syntaxError(source, start, 'expected a variable name after "$"');
      push(c === '$' ? 'variable' : 'name', source.slice(start, i), start);
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      let out = '';
      for (;;) {
        const d = source[i];
        if (d === undefined) throw syntaxError(source, start, 'unterminated string');
        if (d === c) { i++; break; }
        if (d === '\\') {
          const e = source[i + 1];
          if (e === 'u') {
            const hex = source.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw syntaxError(source, i, 'invalid \\u escape');
            out += String.fromCharCode(parseInt(hex, 16));
            i += 6;
            continue;
          }
          const mapped = e === undefined ? undefined : ESCAPES[e];
          if (mapped === undefined) {
            if (e === undefined) throw syntaxError(source, start, 'unterminated string');
            throw syntaxError(source, i, `invalid escape "\\${e}"`);
          }
          out += mapped;
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
      push('string', out, start);
      continue;
    }
    const p = PUNCT.find((op) => source.startsWith(op, i));
    if (p === undefined) {
      const hint = c === '=' ? ' (use == to compare)' : c === '&' ? ' (use &&)' : c === '|' ? ' (use ||)' : '';
      throw syntaxError(source, start, `unexpected character ${JSON.stringify(c)}${hint}`);
    }
    i += p.length;
    push('punct', p, start);
  }
  tokens.push({ kind: 'eof', text: '', num: 0, start: n, end: n });
  return tokens;
}
