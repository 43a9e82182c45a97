import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SelectorError, parseSelector } from '../../src/config/selector.js';

type Labels = Readonly<Record<string, string>>;

const TOR = { rack: 'r1', zone: 'z1', 'kubernetes.io/hostname': 'node-1', 'projectcalico.org/namespace': 'kube-system' };

// selector × labels → selected. Semantics from libcalico-go lib/selector/parser/ast.go (Evaluate
// of each node); the rows marked (Calico) are cases from its parser_test.go selectorTests.
const MATCHES: readonly (readonly [string, string, Labels, boolean])[] = [
  ['== matches the value', `rack == 'r1'`, TOR, true],
  ['== with double quotes', `rack == "r1"`, TOR, true],
  ['== another value', `rack == 'r2'`, TOR, false],
  ['== missing label', `rack == 'r1'`, {}, false],
  ['== is case-sensitive', `rack == 'R1'`, TOR, false],
  ['== the empty value', `rack == ''`, { rack: '' }, true],
  ['!= another value', `rack != 'r2'`, TOR, true],
  ['!= the same value', `rack != 'r1'`, TOR, false],
  ['!= missing label is true (Calico)', `rack != 'r1'`, {}, true],
  ['!= missing label, empty value', `rack != ''`, {}, true],
  ['has() present', `has(rack)`, TOR, true],
  ['has() present with an empty value', `has(rack)`, { rack: '' }, true],
  ['has() missing', `has(spine)`, TOR, false],
  ['!has() missing', `!has(spine)`, TOR, true],
  ['!has() present', `!has(rack)`, TOR, false],
  ['has() of an Object.prototype name', `has(constructor)`, {}, false],
  ['!has() of an Object.prototype name', `!has(toString)`, {}, true],
  ['in: a member', `rack in {'r1', 'r2'}`, TOR, true],
  ['in: not a member', `rack in {'r2', 'r3'}`, TOR, false],
  ['in: missing label', `rack in {'r1'}`, {}, false],
  ['in: the empty set', `rack in {}`, TOR, false],
  ['in: quotes inside values (Calico)', `a in {"'", '"', "c"}`, { a: '"' }, true],
  ['not in: a member', `rack not in {'r1'}`, TOR, false],
  ['not in: not a member', `rack not in {'r2', 'r3'}`, TOR, true],
  ['not in: missing label is true (Calico)', `rack not in {'r1'}`, {}, true],
  ['not in: the empty set', `rack not in {}`, TOR, true],
  ['notin as one word', `rack notin {'r1'}`, TOR, false],
  ['contains', `kubernetes.io/hostname contains 'de-'`, TOR, true],
  ['contains: no', `kubernetes.io/hostname contains 'x'`, TOR, false],
  ['contains: missing label', `spine contains ''`, TOR, false],
  ['contains the empty string', `rack contains ''`, TOR, true],
  ['starts with', `kubernetes.io/hostname starts with 'node-'`, TOR, true],
  ['starts with: no', `kubernetes.io/hostname starts with '1'`, TOR, false],
  ['startswith as one word', `kubernetes.io/hostname startswith 'node'`, TOR, true],
  ['starts with: missing label', `spine starts with ''`, TOR, false],
  ['ends with', `kubernetes.io/hostname ends with '-1'`, TOR, true],
  ['ends with: no', `kubernetes.io/hostname ends with 'node'`, TOR, false],
  ['ends with: missing label', `spine ends with ''`, TOR, false],
  ['key with a slash and dots', `projectcalico.org/namespace == 'kube-system'`, TOR, true],
  ['key with - and _', `a-b_c.d == 'v'`, { 'a-b_c.d': 'v' }, true],
  ['&& both true', `rack == 'r1' && zone == 'z1'`, TOR, true],
  ['&& one false', `rack == 'r1' && zone == 'z2'`, TOR, false],
  ['|| one true', `rack == 'r2' || zone == 'z1'`, TOR, true],
  ['|| both false', `rack == 'r2' || zone == 'z2'`, TOR, false],
  ['&& binds tighter than || (a || b && c, a true)', `rack == 'r1' || zone == 'z2' && has(spine)`, TOR, true],
  ['&& binds tighter than || (a && b || c, c true)', `rack == 'r2' && zone == 'z2' || has(rack)`, TOR, true],
  ['&& binds tighter than || (b && c false)', `rack == 'r2' || zone == 'z1' && has(spine)`, TOR, false],
  ['parentheses override precedence', `(rack == 'r1' || zone == 'z2') && has(spine)`, TOR, false],
  ['! applies to the term, not to the key', `!rack == 'r2'`, TOR, true],
  ['! binds tighter than ||', `!rack == 'r1' || zone == 'z1'`, TOR, true],
  ['!(...) of a group', `!(rack == 'r1' && zone == 'z1')`, TOR, false],
  ['!(...) of an || group', `!(rack == 'r2' || zone == 'z2')`, TOR, true],
  ['!! cancels (Calico)', `!!has(rack)`, TOR, true],
  ['!!! negates (Calico)', `!! ! has(rack)`, TOR, false],
  ['!(!...) cancels', `!(!has(rack))`, TOR, true],
  ['nested parentheses', `((rack == 'r1')) && (((zone in {'z1'})))`, TOR, true],
  ['all()', `all()`, TOR, true],
  ['all() with no labels', `all()`, {}, true],
  ['!all() selects nothing', `!all()`, TOR, false],
  ['global() selects every node', `global()`, {}, true],
  ['the empty selector is all() (Calico)', ``, {}, true],
  ['blanks only is all() (Calico)', ` \t `, TOR, true],
  ['whitespace does not matter', `\track=='r1'&&zone  ==  "z1"||!has( spine )`, TOR, true],
  ['in, not in and == are keys away from a key', `in == 'x' && not == 'y' && has == 'z'`, { in: 'x', not: 'y', has: 'z' }, true],
  ['a key named not with not in', `not not in {'y'}`, { not: 'x' }, true],
  ['a key named contains', `contains contains 'a'`, { contains: 'cat' }, true],
  ['values hold the other quote', `a == '"' && b == "'"`, { a: '"', b: "'" }, true],
  ['values hold operators and blanks', `a == ' && || ) '`, { a: ' && || ) ' }, true],
  ['non-ASCII values', `a in {'é', '😀'}`, { a: '😀' }, true],
];

// text → error message (with its column) and the column. Columns are 1-based characters; an
// error at the end of the text is at its length + 1.
const ERRORS: readonly (readonly [string, string, number])[] = [
  [`rack == 'r1' &&`, `unexpected end at column 16: expected a label key, has(...), all() or '('`, 16],
  [`rack = 'r1'`, `unexpected '=' at column 6: expected ==, !=, in, not in, contains, starts with or ends with`, 6],
  [`rack == 'r1`, `unterminated string at column 9: no closing '`, 9],
  [`rack == "r1' && zone == 'z'`, `unterminated string at column 9: no closing "`, 9],
  [`(rack == 'r1'`, `unexpected end at column 14: expected &&, || or ')' to close the '(' at column 1`, 14],
  [`has(a) || (rack == 'r1' && (zone == 'z')`, `unexpected end at column 41: expected &&, || or ')' to close the '(' at column 11`, 41],
  [`rack == 'r1')`, `unexpected ')' at column 13: no '(' is open`, 13],
  [`()`, `unexpected ')' at column 2: expected a label key, has(...), all() or '('`, 2],
  [`rack == 'r1' % zone`, `unexpected '%' at column 14: expected &&, || or the end of the selector`, 14],
  [`rack == 'r1' & zone == 'z'`, `unexpected '&' at column 14: expected &&, || or the end of the selector`, 14],
  [`rack == 'r1' | zone == 'z'`, `unexpected '|' at column 14: expected &&, || or the end of the selector`, 14],
  [`rack == 'r1' zone == 'z'`, `unexpected 'zone' at column 14: expected &&, || or the end of the selector`, 14],
  [`rack == r1`, `unexpected 'r1' at column 9: expected a quoted string`, 9],
  [`rack !== 'r1'`, `unexpected '=' at column 8: expected a quoted string`, 8],
  [`rack`, `unexpected end at column 5: expected ==, !=, in, not in, contains, starts with or ends with`, 5],
  [`rack equals 'r1'`, `unexpected 'equals' at column 6: expected ==, !=, in, not in, contains, starts with or ends with`, 6],
  [`rack not {'r1'}`, `unexpected 'not' at column 6: expected ==, !=, in, not in, contains, starts with or ends with`, 6],
  [`'r1' == rack`, `unexpected string 'r1' at column 1: expected a label key, has(...), all() or '('`, 1],
  [`rack in 'r1'`, `unexpected string 'r1' at column 9: expected '{'`, 9],
  [`rack in {'r1' 'r2'}`, `unexpected string 'r2' at column 15: expected ',' or '}'`, 15],
  [`rack in {,}`, `unexpected ',' at column 10: expected a quoted string or '}'`, 10],
  [`rack in {'r1', 'r2'`, `unexpected end at column 20: expected ',' or '}'`, 20],
  [`has()`, `unexpected ')' at column 5: expected a label key`, 5],
  [`has(rack`, `unexpected end at column 9: expected ')'`, 9],
  [`has (rack)`, `unexpected '(' at column 5: expected ==, !=, in, not in, contains, starts with or ends with`, 5],
  [`all(`, `unexpected end at column 5: expected ')'`, 5],
  [`global(x)`, `unexpected 'x' at column 8: expected ')'`, 8],
  [`!`, `unexpected end at column 2: expected a label key, has(...), all() or '('`, 2],
  [`all() all()`, `unexpected 'all(' at column 7: expected &&, || or the end of the selector`, 7],
  [`rack == 'r1'\n&& zone == 'z'`, `unexpected U+000A at column 13: expected &&, || or the end of the selector (only spaces and tabs separate tokens)`, 13],
  [`zone == 'é' && ✓`, `unexpected '✓' at column 16: expected a label key, has(...), all() or '('`, 16],
  [`${'k'.repeat(513)} == 'v'`, `label key at column 1 is longer than 512 characters`, 1],
];

describe('parseSelector', () => {
  it.each(MATCHES)('%s: %s', (_name, text, labels, selected) => {
    expect(MATCHES.length).toBeGreaterThanOrEqual(40);
    const parsed = parseSelector(text);
    expect(parsed.matches(labels)).toBe(selected);
    // The normalised text selects the same.
    expect(parseSelector(parsed.text).matches(labels)).toBe(selected);
  });

  it.each(ERRORS)('refuses %j', (text, message, column) => {
    expect(ERRORS.length).toBeGreaterThanOrEqual(15);
    let error: unknown;
    try {
      parseSelector(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SelectorError);
    expect(error).toMatchObject({ name: 'SelectorError', message: `selector: ${message}`, column });
  });

  it('accepts a key of 512 characters (Calico tokenizer.MaxLabelLength)', () => {
    const key = 'k'.repeat(512);
    expect(parseSelector(`${key} == 'v'`).matches({ [key]: 'v' })).toBe(true);
  });

  it('refuses nesting deeper than 1024 with a SelectorError, not a stack overflow', () => {
    expect(parseSelector(`${'('.repeat(1024)}all()${')'.repeat(1024)}`).text).toBe('all()');
    expect(() => parseSelector(`${'('.repeat(100_000)}all()`)).toThrow(new SelectorError(`'(' at column 1025 nests deeper than 1024`, 1025));
  });

  // Calico's Selector.String() (parser_test.go canonicalisationTests and the Visitor table).
  it.each([
    ['', 'all()'],
    [' \t ', 'all()'],
    [' all() ', 'all()'],
    [' (all() )', 'all()'],
    ['global()', 'global()'],
    [`! (has( b)||! has(a ))`, '!(has(b) || !has(a))'],
    [`! (a == "b"&&! c != "d")`, '!(a == "b" && !c != "d")'],
    [`rack=='r1'&&zone!="z1"`, '(rack == "r1" && zone != "z1")'],
    [`a == 'x' || b == 'y' && c == 'z'`, '(a == "x" || (b == "y" && c == "z"))'],
    [`a == 'x' && (b == 'y' && c == 'z')`, '(a == "x" && (b == "y" && c == "z"))'],
    [`!(k == 'v')`, '!k == "v"'],
    [`!!has(a)`, 'has(a)'],
    [`!(!has(a))`, 'has(a)'], // Calico prints !!has(a); see the file head of selector.ts
    [`a == "'"`, `a == "'"`],
    [`a == '"'`, `a == '"'`],
    [`a!='"'`, `a != '"'`],
    [`a contains "'"`, `a contains "'"`],
    [`a startswith '"'`, `a starts with '"'`],
    [`a endswith "'"`, `a ends with "'"`],
    [`a notin {'x'}`, `a not in {"x"}`],
    [`a in {"z", "z", "x", "y", "x", "a"}`, `a in {"a", "x", "y", "z"}`],
    [`a in {}`, `a in {}`],
    [`a in {'a',}`, `a in {"a"}`],
    [`a in {'\u{1F600}', '\uFF5E'}`, `a in {"\uFF5E", "\u{1F600}"}`], // code-point (Go byte) order, not UTF-16's
  ])('normalises %j to %j', (text, normalised) => {
    expect(parseSelector(text).text).toBe(normalised);
    expect(parseSelector(normalised).text).toBe(normalised);
  });

  // parser_test.go badSelectors: each is refused here too.
  it.each([
    'b == b', 'b contains b', 'b starts with b', 'b ends with b', "'b1' == b", 'b', 'a b', '!',
    'foo == "bar" &', 'foo == "bar" |', 'foo != ||', 'foo in {"", ||', 'foo in ""', '"FOO', `"FOO'`,
    "'FOO", '(', '(a == "foo"', ')', '()', '%', 'a == "b" && %', 'a == "b" || %', 'a ', 'has(foo) &&',
  ])("refuses Calico's bad selector %j", (text) => {
    expect(() => parseSelector(text)).toThrow(SelectorError);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: random ASTs, printed with random spelling, parse to a selector that agrees with an
// evaluator written here from Calico's ast.go.

type Ast =
  | { readonly t: 'all' | 'global' }
  | { readonly t: 'has'; readonly key: string }
  | { readonly t: 'cmp'; readonly op: '==' | '!=' | 'contains' | 'starts with' | 'ends with'; readonly key: string; readonly value: string }
  | { readonly t: 'set'; readonly op: 'in' | 'not in'; readonly key: string; readonly values: readonly string[] }
  | { readonly t: 'not'; readonly x: Ast }
  | { readonly t: 'and' | 'or'; readonly xs: readonly Ast[] };

// Keys that are also words of the language, keys with / . - _, and Object.prototype names.
const KEYS = ['rack', 'kubernetes.io/hostname', 'projectcalico.org/namespace', 'a-b_c.d', '1', 'in', 'not', 'has', 'all', 'contains', 'starts', 'constructor'];
// No value holds both quotes: a selector string cannot.
const VALUES = ['', 'r1', 'r2', 'r1r2', 'a"b', "a'b", 'x y', ' && ', ') || (', 'é', '😀', '\uFF5E'];

function evaluate(a: Ast, labels: Labels): boolean {
  const value = 'key' in a && Object.hasOwn(labels, a.key) ? labels[a.key] : undefined;
  switch (a.t) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return value !== undefined;
    case 'cmp':
      if (a.op === '!=') return value !== a.value;
      if (value === undefined) return false;
      return a.op === '==' ? value === a.value : a.op === 'contains' ? value.includes(a.value) : a.op === 'starts with' ? value.startsWith(a.value) : value.endsWith(a.value);
    case 'set':
      return a.op === 'in' ? value !== undefined && a.values.includes(value) : value === undefined || !a.values.includes(value);
    case 'not':
      return !evaluate(a.x, labels);
    case 'and':
      return a.xs.every((x) => evaluate(x, labels));
    case 'or':
      return a.xs.some((x) => evaluate(x, labels));
  }
}

/** Prints `a` with the spelling choices in `style` (used round-robin). */
function printer(style: readonly number[]): (a: Ast) => string {
  let i = 0;
  const pick = <T>(options: readonly T[]): T => options[(style[i++ % style.length] ?? 0) % options.length] as T;
  const blank = (): string => pick(['', ' ', '\t', '  ']);
  const gap = (): string => pick([' ', '\t', ' \t ']); // where a blank is required
  const str = (v: string): string => (v.includes('"') ? `'${v}'` : v.includes("'") ? `"${v}"` : pick([`'${v}'`, `"${v}"`]));
  const spell = (op: string): string =>
    op === 'starts with' ? pick(['starts with', 'startswith', 'starts \t with']) : op === 'ends with' ? pick(['ends with', 'endswith']) : op === 'not in' ? pick(['not in', 'notin', 'not  in']) : op;
  // level: 0 inside || (or at the top), 1 inside &&, 2 under !
  const print = (a: Ast, level: number): string => {
    let s: string;
    let needsParens = false;
    switch (a.t) {
      case 'all':
      case 'global':
        s = `${a.t}(${blank()})`;
        break;
      case 'has':
        s = `has(${blank()}${a.key}${blank()})`;
        break;
      case 'cmp':
        s = a.op === '==' || a.op === '!=' ? `${a.key}${blank()}${a.op}${blank()}${str(a.value)}` : `${a.key}${gap()}${spell(a.op)}${blank()}${str(a.value)}`;
        break;
      case 'set':
        s = `${a.key}${gap()}${spell(a.op)}${blank()}{${blank()}${a.values.map((v) => str(v)).join(`${blank()},${blank()}`)}${blank()}}`;
        break;
      case 'not':
        s = `!${blank()}${print(a.x, 2)}`;
        break;
      case 'and':
      case 'or':
        // One operand is that operand; && groups need parentheses only under !, || groups under && or !.
        if (a.xs.length === 1) return print(a.xs[0] as Ast, level);
        s = a.xs.map((x) => print(x, a.t === 'and' ? 1 : 0)).join(`${blank()}${a.t === 'and' ? '&&' : '||'}${blank()}`);
        needsParens = level > (a.t === 'and' ? 1 : 0);
        break;
    }
    return needsParens || pick([false, false, false, true]) ? `(${blank()}${s}${blank()})` : s;
  };
  return (a) => `${blank()}${print(a, 0)}${blank()}`;
}

const key = fc.constantFrom(...KEYS);
const value = fc.constantFrom(...VALUES);
const { ast } = fc.letrec<{ ast: Ast }>((tie) => ({
  ast: fc.oneof(
    { maxDepth: 4 },
    fc.constantFrom<Ast>({ t: 'all' }, { t: 'global' }),
    key.map((k): Ast => ({ t: 'has', key: k })),
    fc.record({ t: fc.constant('cmp' as const), op: fc.constantFrom('==', '!=', 'contains', 'starts with', 'ends with'), key, value }),
    fc.record({ t: fc.constant('set' as const), op: fc.constantFrom('in', 'not in'), key, values: fc.array(value, { maxLength: 4 }) }),
    tie('ast').map((x): Ast => ({ t: 'not', x })),
    fc.record({ t: fc.constantFrom('and' as const, 'or' as const), xs: fc.array(tie('ast'), { minLength: 1, maxLength: 4 }) }),
  ),
}));
const labels = fc.dictionary(key, value, { maxKeys: KEYS.length });

describe('parseSelector (properties)', () => {
  it('parse(print(ast)) selects what the ast selects, and so does its normalised text', () => {
    fc.assert(
      fc.property(ast, fc.array(fc.nat(), { minLength: 1, maxLength: 32 }), fc.array(labels, { minLength: 1, maxLength: 16 }), (a, style, labelSets) => {
        const text = printer(style)(a);
        const parsed = parseSelector(text);
        const renormalised = parseSelector(parsed.text);
        expect(renormalised.text).toBe(parsed.text);
        for (const l of labelSets) {
          const want = evaluate(a, l);
          expect(parsed.matches(l)).toBe(want);
          expect(renormalised.matches(l)).toBe(want);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('any text either parses or throws a SelectorError with a column inside it', () => {
    const piece = fc.constantFrom('rack', ' ', '\t', '\n', '==', '=', '!=', '!', '&&', '&', '||', '(', ')', '{', '}', ',', "'r1'", '"', "'", 'in', 'not', 'contains', 'starts', 'with', 'has(', 'all(', 'global(', '%', 'é');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
        const text = pieces.join('');
        try {
          const { text: normalised } = parseSelector(text);
          expect(parseSelector(normalised).text).toBe(normalised);
        } catch (e) {
          expect(e).toBeInstanceOf(SelectorError);
          const { column } = e as SelectorError;
          expect(column).toBeGreaterThanOrEqual(1);
          expect(column).toBeLessThanOrEqual([...text].length + 1);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
