/**
 * Calico's selector language, as BGPPeer `nodeSelector` and `peerSelector` use it: parsed by a small
 * lexer and a recursive-descent parser, evaluated against a node's labels.
 *
 * Calico says (libcalico-go lib/selector, tokenizer/tokenizer.go, parser/parser.go, parser/ast.go):
 *
 *   selector   := <nothing> | or                     nothing (or only blanks) is all()
 *   or         := and ('||' and)*                    && binds tighter than ||
 *   and        := unary ('&&' unary)*
 *   unary      := '!'* term                          ! applies to one term; !! cancels out
 *   term       := 'has(' key ')' | 'all(' ')' | 'global(' ')' | '(' or ')'
 *              |  key ('==' | '!=' | 'contains' | 'starts with' | 'ends with') string
 *              |  key ('in' | 'not in') '{' (string (',' string)* ','?)? '}'
 *   key        := [A-Za-z0-9_./-]{1,512}             so kubernetes.io/hostname is one key
 *   string     := "..." | '...'                      no escapes: either quote may hold the other
 *
 * - Blanks are spaces and tabs only; a newline is a stray character, as in Calico (its validator
 *   refuses it too). `has(`, `all(` and `global(` are one token each: `has (a)` is an error.
 * - The word operators exist only right after a key, so `in`, `not`, `has` and `all` are
 *   ordinary keys elsewhere (`in == "x"`); `startswith`, `endswith` and `notin` are accepted.
 * - A missing label: `==`, `in`, `contains`, `starts with`, `ends with` are false; `!=` and
 *   `not in` are true (a missing label is != every value and not in every set; ast.go
 *   LabelNeValueNode / LabelNotInSetNode).
 * - `global()` is true for every label set (GlobalNode.Evaluate). Its meaning lives in network
 *   policy (a `global()` namespaceSelector picks non-namespaced endpoints); Calico forbids it in
 *   IPPool selectors but not in BGPPeer ones, so in a BGPPeer it selects every node, like all().
 * - '' (or blanks) parses as all(), as Calico's Parse does. For a BGPPeer, though, an empty
 *   nodeSelector or peerSelector means "not set" (confd client.go compares the field with ""), and
 *   an unset peerSelector means "use peerIP", not "every node": the config layer must test for ''
 *   before it calls parseSelector.
 *
 * OUR implementation: the same language, with the column of every error (Calico gives none) and
 * one difference in the normalised text: Calico prints `!(!has(a))` as `!!has(a)`, which reads
 * back as `has(a)`; kbgp cancels the double negation at once, so normalising twice changes
 * nothing. Otherwise `text` is Calico's Selector.String(): && and || groups in parentheses, `"`
 * unless the value holds one, `in` sets sorted (by code point, as Go's byte order) and deduplicated.
 */

/** True if a node with these labels is selected. */
export type Selector = (labels: Readonly<Record<string, string>>) => boolean;

export class SelectorError extends Error {
  /** 1-based, counted in characters (code points); the end of the text is its length + 1. */
  readonly column: number;
  constructor(reason: string, column: number) {
    super(`selector: ${reason}`);
    this.name = 'SelectorError';
    this.column = column;
  }
}

/** `text` parsed; throws SelectorError naming the column of the first problem. */
export function parseSelector(text: string): { readonly matches: Selector; readonly text: string } {
  const lexer = new Lexer(text);
  const root = new Parser(lexer).selector();
  return { matches: compile(root), text: print(root) };
}

/** Calico's tokenizer.MaxLabelLength. */
const MAX_KEY_LENGTH = 512;
/**
 * Parentheses nest by recursion; a cap turns a hostile selector into a SelectorError instead of
 * a RangeError. Calico's CRD caps selectors at 1024 characters, so no valid one nests deeper.
 */
const MAX_DEPTH = 1024;

const EXPECT_TERM = "a label key, has(...), all() or '('";
const EXPECT_OPERATOR = '==, !=, in, not in, contains, starts with or ends with';

type Comparison = '==' | '!=' | 'contains' | 'starts with' | 'ends with';
type Membership = 'in' | 'not in';

type Node =
  | { readonly op: 'all' | 'global' }
  | { readonly op: 'has'; readonly key: string }
  | { readonly op: Comparison; readonly key: string; readonly value: string }
  | { readonly op: Membership; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'not'; readonly operand: Node }
  | { readonly op: 'and' | 'or'; readonly operands: readonly Node[] };

// ---------------------------------------------------------------------------------------------
// Lexer

type TokenKind =
  | 'key'
  | 'string'
  | '('
  | ')'
  | '{'
  | '}'
  | ','
  | '!'
  | '&&'
  | '||'
  | 'has('
  | 'all('
  | 'global('
  | Comparison
  | Membership
  | 'stray' // a character no token starts with; the parser reports it with what it expected
  | 'end';

interface Token {
  readonly kind: TokenKind;
  /** The key, or the string without its quotes. */
  readonly value: string;
  /** UTF-16 offsets into the text. */
  readonly start: number;
  readonly end: number;
}

/** Word operators, tried in Calico's order; blanks between two words are optional. */
const WORD_OPERATORS: readonly (readonly [Comparison | Membership, readonly string[]])[] = [
  ['contains', ['contains']],
  ['starts with', ['starts', 'with']],
  ['ends with', ['ends', 'with']],
  ['not in', ['not', 'in']],
  ['in', ['in']],
];

const PUNCTUATION: Readonly<Record<string, TokenKind>> = { '(': '(', ')': ')', '{': '{', '}': '}', ',': ',' };
const DOUBLED: Readonly<Record<string, TokenKind>> = { '==': '==', '!=': '!=', '&&': '&&', '||': '||' };

function isKeyChar(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9_./-]$/.test(c);
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/** Tokens on demand, so the first problem from the left is the one reported. */
class Lexer {
  private pos = 0;
  private lastKind: TokenKind | undefined;
  private ahead: Token | undefined;

  constructor(readonly text: string) {}

  peek(): Token {
    this.ahead ??= this.scan();
    return this.ahead;
  }

  next(): Token {
    const t = this.peek();
    this.ahead = undefined;
    return t;
  }

  column(offset: number): number {
    return [...this.text.slice(0, offset)].length + 1;
  }

  unexpected(t: Token, expected: string): SelectorError {
    const column = this.column(t.start);
    const hint = t.kind === 'stray' && /\s/.test(t.value) ? ' (only spaces and tabs separate tokens)' : '';
    return new SelectorError(`unexpected ${this.describe(t)} at column ${column}: ${expected}${hint}`, column);
  }

  private describe(t: Token): string {
    const raw = this.text.slice(t.start, t.end);
    const short = raw.length > 40 ? `${raw.slice(0, 40)}...` : raw;
    switch (t.kind) {
      case 'end':
        return 'end';
      case 'string':
        return `string ${short}`;
      case 'stray': {
        const code = t.value.codePointAt(0) ?? 0;
        return code > 0x20 && code !== 0x7f && !/\s/.test(t.value) ? `'${t.value}'` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      }
      default:
        return `'${short}'`;
    }
  }

  private scan(): Token {
    const { text } = this;
    while (isBlank(text[this.pos])) this.pos++;
    const start = this.pos;
    const token = (kind: TokenKind, end: number, value = ''): Token => {
      this.pos = end;
      this.lastKind = kind;
      return { kind, value, start, end };
    };
    if (start >= text.length) return token('end', start);
    const c = text[start] as string;

    const single = PUNCTUATION[c];
    if (single !== undefined) return token(single, start + 1);
    const doubled = DOUBLED[text.slice(start, start + 2)];
    if (doubled !== undefined) return token(doubled, start + 2);
    if (c === '!') return token('!', start + 1);
    if (c === '"' || c === "'") {
      const close = text.indexOf(c, start + 1);
      if (close < 0) {
        const column = this.column(start);
        throw new SelectorError(`unterminated string at column ${column}: no closing ${c}`, column);
      }
      return token('string', close + 1, text.slice(start + 1, close));
    }
    // Calico reads a word operator only right after a key; anywhere else the word is a key.
    if (this.lastKind === 'key') {
      for (const [kind, words] of WORD_OPERATORS) {
        const end = this.matchWords(start, words);
        if (end !== undefined) return token(kind, end);
      }
    }
    for (const call of ['has(', 'all(', 'global('] as const) {
      if (text.startsWith(call, start)) return token(call, start + call.length);
    }
    if (isKeyChar(c)) {
      let end = start;
      while (isKeyChar(text[end])) end++;
      if (end - start > MAX_KEY_LENGTH) {
        const column = this.column(start);
        throw new SelectorError(`label key at column ${column} is longer than ${MAX_KEY_LENGTH} characters`, column);
      }
      return token('key', end, text.slice(start, end));
    }
    const stray = String.fromCodePoint(text.codePointAt(start) ?? 0);
    return token('stray', start + stray.length, stray);
  }

  /** The end of `words` at `start` (blanks allowed between them), if a word boundary follows. */
  private matchWords(start: number, words: readonly string[]): number | undefined {
    let p = start;
    for (const [i, word] of words.entries()) {
      if (i > 0) while (isBlank(this.text[p])) p++;
      if (!this.text.startsWith(word, p)) return undefined;
      p += word.length;
    }
    return isKeyChar(this.text[p]) ? undefined : p;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

const ALL: Node = { op: 'all' };

function negate(n: Node): Node {
  return n.op === 'not' ? n.operand : { op: 'not', operand: n };
}

class Parser {
  private depth = 0;

  constructor(private readonly lexer: Lexer) {}

  selector(): Node {
    if (this.lexer.peek().kind === 'end') return ALL;
    const root = this.or();
    const t = this.lexer.peek();
    if (t.kind === ')') throw this.lexer.unexpected(t, "no '(' is open");
    if (t.kind !== 'end') throw this.lexer.unexpected(t, 'expected &&, || or the end of the selector');
    return root;
  }

  private or(): Node {
    const operands = [this.and()];
    while (this.lexer.peek().kind === '||') {
      this.lexer.next();
      operands.push(this.and());
    }
    return operands.length === 1 ? (operands[0] as Node) : { op: 'or', operands };
  }

  private and(): Node {
    const operands = [this.unary()];
    while (this.lexer.peek().kind === '&&') {
      this.lexer.next();
      operands.push(this.unary());
    }
    return operands.length === 1 ? (operands[0] as Node) : { op: 'and', operands };
  }

  private unary(): Node {
    let negated = false;
    while (this.lexer.peek().kind === '!') {
      this.lexer.next();
      negated = !negated;
    }
    const term = this.term();
    return negated ? negate(term) : term;
  }

  private term(): Node {
    const t = this.lexer.next();
    switch (t.kind) {
      case 'has(': {
        const key = this.expect('key', 'expected a label key');
        this.expect(')', "expected ')'");
        return { op: 'has', key: key.value };
      }
      case 'all(':
      case 'global(':
        this.expect(')', "expected ')'");
        return t.kind === 'all(' ? ALL : { op: 'global' };
      case '(': {
        if (++this.depth > MAX_DEPTH) {
          const column = this.lexer.column(t.start);
          throw new SelectorError(`'(' at column ${column} nests deeper than ${MAX_DEPTH}`, column);
        }
        const inner = this.or();
        this.expect(')', `expected &&, || or ')' to close the '(' at column ${this.lexer.column(t.start)}`);
        this.depth--;
        return inner;
      }
      case 'key':
        return this.comparison(t.value);
      default:
        throw this.lexer.unexpected(t, `expected ${EXPECT_TERM}`);
    }
  }

  private comparison(key: string): Node {
    const op = this.lexer.next();
    switch (op.kind) {
      case '==':
      case '!=':
      case 'contains':
      case 'starts with':
      case 'ends with':
        return { op: op.kind, key, value: this.expect('string', 'expected a quoted string').value };
      case 'in':
      case 'not in':
        return { op: op.kind, key, values: this.set() };
      default:
        throw this.lexer.unexpected(op, `expected ${EXPECT_OPERATOR}`);
    }
  }

  /** `{"a", "b"}`, sorted and deduplicated; `{}` and a trailing comma are Calico's too. */
  private set(): string[] {
    this.expect('{', "expected '{'");
    const values = new Set<string>();
    for (;;) {
      const item = this.lexer.next();
      if (item.kind === '}') break;
      if (item.kind !== 'string') throw this.lexer.unexpected(item, "expected a quoted string or '}'");
      values.add(item.value);
      const after = this.lexer.next();
      if (after.kind === '}') break;
      if (after.kind !== ',') throw this.lexer.unexpected(after, "expected ',' or '}'");
    }
    return [...values].sort(compareCodePoints);
  }

  private expect(kind: TokenKind, expected: string): Token {
    const t = this.lexer.next();
    if (t.kind !== kind) throw this.lexer.unexpected(t, expected);
    return t;
  }
}

/** Code-point order, which is Go's byte order of the UTF-8 (JavaScript's `<` is UTF-16's). */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

// ---------------------------------------------------------------------------------------------
// Evaluation and printing

function compile(n: Node): Selector {
  switch (n.op) {
    case 'all':
    case 'global':
      return () => true;
    case 'not': {
      const operand = compile(n.operand);
      return (labels) => !operand(labels);
    }
    case 'and': {
      const operands = n.operands.map(compile);
      return (labels) => operands.every((f) => f(labels));
    }
    case 'or': {
      const operands = n.operands.map(compile);
      return (labels) => operands.some((f) => f(labels));
    }
    default: {
      const test = valueTest(n);
      const { key } = n;
      // Own properties only: a node without the label `constructor` must not find Object's.
      return (labels) => test(Object.hasOwn(labels, key) ? labels[key] : undefined);
    }
  }
}

/** The test on one label's value, `undefined` when the label is missing. */
function valueTest(n: Extract<Node, { key: string }>): (value: string | undefined) => boolean {
  switch (n.op) {
    case 'has':
      return (v) => v !== undefined;
    case '==':
      return (v) => v === n.value;
    case '!=':
      return (v) => v !== n.value;
    case 'contains':
      return (v) => v !== undefined && v.includes(n.value);
    case 'starts with':
      return (v) => v !== undefined && v.startsWith(n.value);
    case 'ends with':
      return (v) => v !== undefined && v.endsWith(n.value);
    case 'in': {
      const set = new Set(n.values);
      return (v) => v !== undefined && set.has(v);
    }
    case 'not in': {
      const set = new Set(n.values);
      return (v) => v === undefined || !set.has(v);
    }
  }
}

function quote(value: string): string {
  return value.includes('"') ? `'${value}'` : `"${value}"`;
}

function print(n: Node): string {
  switch (n.op) {
    case 'all':
    case 'global':
      return `${n.op}()`;
    case 'has':
      return `has(${n.key})`;
    case 'not':
      return `!${print(n.operand)}`;
    case 'and':
    case 'or':
      return `(${n.operands.map(print).join(n.op === 'and' ? ' && ' : ' || ')})`;
    case 'in':
    case 'not in':
      return `${n.key} ${n.op} {${n.values.map(quote).join(', ')}}`;
    default:
      return `${n.key} ${n.op} ${quote(n.value)}`;
  }
}
