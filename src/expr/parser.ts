import { syntaxError, tokenize } from './tokenizer.js';
import type { Token } from './tokenizer.js';

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '**' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in';
export type VariableName = 'key' | 'timestamp' | 'headers';

interface Span { start: number; end: number }
export type Node = Span & (
  | { type: 'literal'; value: string | number | boolean | null }
  | { type: 'list'; items: Node[] }
  | { type: 'field'; name: string }
  | { type: 'variable'; name: VariableName }
  | { type: 'member'; object: Node; name: string }
  | { type: 'index'; object: Node; index: Node }
  | { type: 'unary'; op: '-' | '!'; operand: Node }
  | { type: 'binary'; op: BinaryOp; left: Node; right: Node }
  | { type: 'logical'; op: '&&' | '||'; left: Node; right: Node }
  | { type: 'conditional'; test: Node; consequent: Node; alternate: Node }
  | { type: 'call'; name: string; args: Node[] }
);

const VARIABLES = new Set<string>(['$key', '$timestamp', '$headers']);
const RESERVED = new Set(['true', 'false', 'null', 'not', 'and', 'or', 'in']);

// Binding powers (higher binds tighter). Left-associative operators parse their right side
// at their own power; `**` and `?:` one lower, which makes them right-associative.
// A Map, not an object literal: a field named `constructor` must not look like an operator.
const INFIX = new Map<string, number>(Object.entries({
  '?': 1, '||': 2, or: 2, '&&': 3, and: 3,
  '==': 4, '!=': 4, '<': 5, '<=': 5, '>': 5, '>=': 5, in: 5,
  '+': 6, '-': 6, '*': 7, '/': 7, '%': 7, '**': 9,
  '.': 10, '[': 10, '(': 10,
}));
const PREFIX_POWER = 8;

export function parse(source: string): Node {
  const tokens = tokenize(source);
  let pos = 0;
  const peek = (): Token => tokens[pos] as Token;
  const next = (): Token => tokens[pos++] as Token;

  const unexpected = (t: Token): Error =>
    t.kind === 'eof'
      ? syntaxError(source, t.start, 'unexpected end of expression')
      : syntaxError(source, t.start, `unexpected token ${JSON.stringify(source.slice(t.start, t.end))}`);

  const expect = (text: string): Token => {
    const t = next();
    if (t.kind !== 'punct' || t.text !== text) {
      if (t.kind === 'eof') throw syntaxError(source, t.start, `expected "${text}" but the expression ended`);
      throw syntaxError(source, t.start, `expected "${text}" but found ${JSON.stringify(source.slice(t.start, t.end))}`);
    }
    return t;
  };

  /** Comma-separated expressions up to `close`; the opening token was consumed. */
  const list = (close: string): { items: Node[]; end: number } => {
    const items: Node[] = [];
    if (peek().kind === 'punct' && peek().text === close) return { items, end: next().end };
    for (;;) {
      items.push(expression(0));
      const t = next();
      if (t.kind === 'punct' && t.text === close) return { items, end: t.end };
      if (t.kind !== 'punct' || t.text !== ',') {
        if (t.kind === 'eof') throw syntaxError(source, t.start, `expected "," or "${close}" but the expression ended`);
        throw syntaxError(source, t.start, `expected "," or "${close}" but found ${JSON.stringify(source.slice(t.start, t.end))}`);
      }
    }
  };

  const prefix = (): Node => {
    const t = next();
    const { start, end } = t;
    switch (t.kind) {
      case 'number': return { type: 'literal', value: t.num, start, end };
      case 'string': return { type: 'literal', value: t.text, start, end };
      case 'variable':
        if (!VARIABLES.has(t.text)) throw syntaxError(source, start, `unknown variable "${t.text}" (known: ${[...VARIABLES].join(', ')})`);
        return { type: 'variable', name: t.text.slice(1) as VariableName, start, end };
      case 'name':
        if (t.text === 'true' || t.text === 'false') return { type: 'literal', value: t.text === 'true', start, end };
        if (t.text === 'null') return { type: 'literal', value: null, start, end };
        if (t.text === 'not') {
          const operand = expression(PREFIX_POWER);
          return { type: 'unary', op: '!', operand, start, end: operand.end };
        }
        if (RESERVED.has(t.text)) throw unexpected(t);
        if (peek().kind === 'punct' && peek().text === '(') {
          next();
          const { items, end: close } = list(')');
          return { type: 'call', name: t.text, args: items, start, end: close };
        }
        return { type: 'field', name: t.text, start, end };
      case 'punct':
        if (t.text === '-' || t.text === '!') {
          const operand = expression(PREFIX_POWER);
          return { type: 'unary', op: t.text, operand, start, end: operand.end };
        }
        if (t.text === '(') {
          const inner = expression(0);
          const close = expect(')');
          // Widen the span so error messages quote the parenthesised text whole.
          inner.start = start;
          inner.end = close.end;
          return inner;
        }
        if (t.text === '[') {
          const { items, end: close } = list(']');
          return { type: 'list', items, start, end: close };
        }
        throw unexpected(t);
      default:
        throw unexpected(t);
    }
  };

  function expression(minPower: number): Node {
    let left = prefix();
    for (;;) {
      const t = peek();
      const op = t.kind === 'punct' || t.kind === 'name' ? t.text : '';
      const power = INFIX.get(op);
      if (power === undefined || power <= minPower) return left;
      next();
      const start = left.start;
      if (op === '.') {
        const name = next();
        if (name.kind !== 'name') throw syntaxError(source, name.start, 'expected a field name after "."');
        left = { type: 'member', object: left, name: name.text, start, end: name.end };
      } else if (op === '[') {
        const index = expression(0);
        const close = expect(']');
        left = { type: 'index', object: left, index, start, end: close.end };
      } else if (op === '(') {
        throw syntaxError(source, t.start, 'only built-in functions can be called');
      } else if (op === '?') {
        const consequent = expression(0);
        expect(':');
        const alternate = expression(power - 1);
        left = { type: 'conditional', test: left, consequent, alternate, start, end: alternate.end };
      } else if (op === '&&' || op === 'and' || op === '||' || op === 'or') {
        const right = expression(power);
        left = { type: 'logical', op: op === '&&' || op === 'and' ? '&&' : '||', left, right, start, end: right.end };
      } else {
        const right = expression(op === '**' ? power - 1 : power);
        left = { type: 'binary', op: op as BinaryOp, left, right, start, end: right.end };
      }
    }
  }

  const root = expression(0);
  const t = peek();
  if (t.kind !== 'eof') throw unexpected(t);
  return root;
}
