/**
 * JSONPath (the RFC 9535 core smoke suites use): `$`, `.name`, `['name']`, `[0]`, `[-1]`, `[*]`,
 * `.*`, `..name`, unions `[0,2]`, slices `[1:3]`, and filters `[?(@.status == 'ok' && @.n > 2)]`
 * with ==, !=, <, <=, >, >=, =~ /regex/, existence and !. Paths are parsed once, when the suite is
 * validated, so a typo is reported with its line before any request is sent.
 */

export class JsonPathError extends Error {
  constructor(path: string, position: number, problem: string) {
    super(`invalid JSONPath ${JSON.stringify(path)} at character ${position + 1}: ${problem}`);
    this.name = 'JsonPathError';
  }
}

type Selector =
  | { kind: 'name'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start?: number; end?: number; step: number }
  | { kind: 'filter'; expression: FilterExpression };

interface Segment {
  descendant: boolean;
  selectors: Selector[];
}

type Comparable = { kind: 'literal'; value: unknown } | { kind: 'path'; relative: boolean; segments: Segment[] };

type FilterExpression =
  | { kind: 'or'; left: FilterExpression; right: FilterExpression }
  | { kind: 'and'; left: FilterExpression; right: FilterExpression }
  | { kind: 'not'; operand: FilterExpression }
  | { kind: 'exists'; path: Comparable & { kind: 'path' } }
  | { kind: 'compare'; operator: '==' | '!=' | '<' | '<=' | '>' | '>='; left: Comparable; right: Comparable }
  | { kind: 'match'; left: Comparable; regex: RegExp };

export interface CompiledPath {
  source: string;
  segments: Segment[];
  /** True when the path can select at most one value (no wildcard, slice, filter, union or ..). */
  definite: boolean;
}

export function compileJsonPath(source: string): CompiledPath {
  const parser = new Parser(source);
  const segments = parser.parseRoot();
  const definite = segments.every((segment) => !segment.descendant && segment.selectors.length === 1 && (segment.selectors[0].kind === 'name' || segment.selectors[0].kind === 'index'));
  return { source, segments, definite };
}

/** Every value the path selects, in document order. */
export function queryJsonPath(path: CompiledPath, document: unknown): unknown[] {
  return evaluateSegments(path.segments, [document], document);
}

function evaluateSegments(segments: Segment[], start: unknown[], root: unknown): unknown[] {
  let nodes = start;
  for (const segment of segments) {
    const next: unknown[] = [];
    for (const node of nodes) {
      const targets = segment.descendant ? descendantsAndSelf(node) : [node];
      for (const target of targets) for (const selector of segment.selectors) select(selector, target, root, next);
    }
    nodes = next;
  }
  return nodes;
}

function descendantsAndSelf(node: unknown): unknown[] {
  const all: unknown[] = [node];
  const children = childrenOf(node);
  for (const child of children) all.push(...descendantsAndSelf(child));
  return all;
}

function childrenOf(node: unknown): unknown[] {
  if (Array.isArray(node)) return node;
  if (node !== null && typeof node === 'object') return Object.values(node);
  return [];
}

function select(selector: Selector, node: unknown, root: unknown, out: unknown[]): void {
  switch (selector.kind) {
    case 'name':
      if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.prototype.hasOwnProperty.call(node, selector.name)) {
        out.push((node as Record<string, unknown>)[selector.name]);
      }
      return;
    case 'wildcard':
      out.push(...childrenOf(node));
      return;
    case 'index': {
      if (!Array.isArray(node)) return;
      const index = selector.index < 0 ? node.length + selector.index : selector.index;
      if (index >= 0 && index < node.length) out.push(node[index]);
      return;
    }
    case 'slice': {
      if (!Array.isArray(node)) return;
      out.push(...sliceArray(node, selector.start, selector.end, selector.step));
      return;
    }
    case 'filter':
      for (const child of childrenOf(node)) if (testFilter(selector.expression, child, root)) out.push(child);
      return;
  }
}

function sliceArray(array: unknown[], start: number | undefined, end: number | undefined, step: number): unknown[] {
  const length = array.length;
  const normalize = (value: number) => (value < 0 ? Math.max(length + value, -1) : Math.min(value, length));
  const out: unknown[] = [];
  if (step > 0) {
    const from = Math.max(normalize(start ?? 0), 0);
    const to = normalize(end ?? length);
    for (let index = from; index < to; index += step) out.push(array[index]);
  } else {
    const from = Math.min(normalize(start ?? length - 1), length - 1);
    const to = end === undefined ? -1 : normalize(end);
    for (let index = from; index > to; index += step) out.push(array[index]);
  }
  return out;
}

function testFilter(expression: FilterExpression, current: unknown, root: unknown): boolean {
  switch (expression.kind) {
    case 'or':
      return testFilter(expression.left, current, root) || testFilter(expression.right, current, root);
    case 'and':
      return testFilter(expression.left, current, root) && testFilter(expression.right, current, root);
    case 'not':
      return !testFilter(expression.operand, current, root);
    case 'exists':
      return resolveComparable(expression.path, current, root).length > 0;
    case 'match': {
      const [value] = resolveComparable(expression.left, current, root);
      return typeof value === 'string' && expression.regex.test(value);
    }
    case 'compare': {
      const left = resolveComparable(expression.left, current, root);
      const right = resolveComparable(expression.right, current, root);
      return compareValues(expression.operator, left, right);
    }
  }
}

function resolveComparable(comparable: Comparable, current: unknown, root: unknown): unknown[] {
  if (comparable.kind === 'literal') return [comparable.value];
  return evaluateSegments(comparable.segments, [comparable.relative ? current : root], root).slice(0, 1);
}

function compareValues(operator: string, left: unknown[], right: unknown[]): boolean {
  // A missing value equals only another missing value (RFC 9535 "Nothing").
  if (left.length === 0 || right.length === 0) {
    const bothMissing = left.length === 0 && right.length === 0;
    if (operator === '==') return bothMissing;
    if (operator === '!=') return !bothMissing;
    return operator === '<=' || operator === '>=' ? bothMissing : false;
  }
  const [a, b] = [left[0], right[0]];
  switch (operator) {
    case '==':
      return deepEqual(a, b);
    case '!=':
      return !deepEqual(a, b);
    default: {
      const comparable = (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
      if (!comparable) return operator.endsWith('=') && deepEqual(a, b);
      const x = a as number | string;
      const y = b as number | string;
      if (operator === '<') return x < y;
      if (operator === '<=') return x <= y;
      if (operator === '>') return x > y;
      return x >= y;
    }
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => deepEqual(item, other[index]));
  }
  const aKeys = Object.keys(a as object);
  const bKeys = Object.keys(b as object);
  return aKeys.length === bKeys.length && aKeys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

const NAME_START = /[A-Za-z_$\u0080-\uffff]/;
const NAME_CHAR = /[A-Za-z0-9_$\-\u0080-\uffff]/;

class Parser {
  private position = 0;
  constructor(private readonly source: string) {}

  parseRoot(): Segment[] {
    this.skipSpaces();
    if (this.peek() !== '$') this.fail('must start with "$" (the document root)');
    this.position++;
    const segments = this.parseSegments(false);
    this.skipSpaces();
    if (this.position < this.source.length) this.fail(`unexpected ${JSON.stringify(this.peek())}`);
    return segments;
  }

  private parseSegments(inFilter: boolean): Segment[] {
    const segments: Segment[] = [];
    for (;;) {
      const char = this.peek();
      if (char === '.') {
        if (this.source[this.position + 1] === '.') {
          this.position += 2;
          if (this.peek() === '[') segments.push({ descendant: true, selectors: this.parseBracket() });
          else segments.push({ descendant: true, selectors: [this.parseDotSelector()] });
        } else {
          this.position++;
          segments.push({ descendant: false, selectors: [this.parseDotSelector()] });
        }
      } else if (char === '[') {
        segments.push({ descendant: false, selectors: this.parseBracket() });
      } else {
        return segments;
      }
      if (inFilter && segments.length > 64) this.fail('path too long');
    }
  }

  private parseDotSelector(): Selector {
    if (this.peek() === '*') {
      this.position++;
      return { kind: 'wildcard' };
    }
    const start = this.position;
    if (!NAME_START.test(this.peek() ?? '')) this.fail('expected a member name or * after "."');
    while (this.position < this.source.length && NAME_CHAR.test(this.peek())) this.position++;
    return { kind: 'name', name: this.source.slice(start, this.position) };
  }

  private parseBracket(): Selector[] {
    this.expect('[');
    const selectors: Selector[] = [];
    for (;;) {
      this.skipSpaces();
      selectors.push(this.parseBracketSelector());
      this.skipSpaces();
      if (this.peek() === ',') {
        this.position++;
        continue;
      }
      this.expect(']');
      return selectors;
    }
  }

  private parseBracketSelector(): Selector {
    const char = this.peek();
    if (char === '*') {
      this.position++;
      return { kind: 'wildcard' };
    }
    if (char === "'" || char === '"') return { kind: 'name', name: this.parseString() };
    if (char === '?') {
      this.position++;
      this.skipSpaces();
      return { kind: 'filter', expression: this.parseOr() };
    }
    if (char === ':' || char === '-' || /\d/.test(char ?? '')) {
      const start = this.peek() === ':' ? undefined : this.parseInteger();
      this.skipSpaces();
      if (this.peek() !== ':') {
        if (start === undefined) this.fail('expected an index');
        return { kind: 'index', index: start };
      }
      this.position++;
      this.skipSpaces();
      const end = /[-\d]/.test(this.peek() ?? '') ? this.parseInteger() : undefined;
      this.skipSpaces();
      let step = 1;
      if (this.peek() === ':') {
        this.position++;
        this.skipSpaces();
        if (/[-\d]/.test(this.peek() ?? '')) step = this.parseInteger();
      }
      if (step === 0) this.fail('slice step must not be 0');
      return { kind: 'slice', start, end, step };
    }
    return this.fail('expected a quoted name, an index, a slice, * or a ?filter inside [ ]');
  }

  private parseOr(): FilterExpression {
    let left = this.parseAnd();
    for (;;) {
      this.skipSpaces();
      if (!this.source.startsWith('||', this.position)) return left;
      this.position += 2;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
  }

  private parseAnd(): FilterExpression {
    let left = this.parseUnary();
    for (;;) {
      this.skipSpaces();
      if (!this.source.startsWith('&&', this.position)) return left;
      this.position += 2;
      left = { kind: 'and', left, right: this.parseUnary() };
    }
  }

  private parseUnary(): FilterExpression {
    this.skipSpaces();
    if (this.peek() === '!' && this.source[this.position + 1] !== '=') {
      this.position++;
      return { kind: 'not', operand: this.parseUnary() };
    }
    if (this.peek() === '(') {
      this.position++;
      const inner = this.parseOr();
      this.skipSpaces();
      this.expect(')');
      return inner;
    }
    const left = this.parseComparable();
    this.skipSpaces();
    if (this.source.startsWith('=~', this.position)) {
      this.position += 2;
      this.skipSpaces();
      return { kind: 'match', left, regex: this.parseRegex() };
    }
    const operator = ['==', '!=', '<=', '>=', '<', '>'].find((candidate) => this.source.startsWith(candidate, this.position)) as
      | '==' | '!=' | '<=' | '>=' | '<' | '>' | undefined;
    if (!operator) {
      if (left.kind !== 'path') this.fail('a literal on its own is not a test; compare it with ==, !=, <, >');
      return { kind: 'exists', path: left };
    }
    this.position += operator.length;
    this.skipSpaces();
    return { kind: 'compare', operator, left, right: this.parseComparable() };
  }

  private parseComparable(): Comparable {
    const char = this.peek();
    if (char === '@' || char === '$') {
      this.position++;
      return { kind: 'path', relative: char === '@', segments: this.parseSegments(true) };
    }
    if (char === "'" || char === '"') return { kind: 'literal', value: this.parseString() };
    if (char === '-' || /\d/.test(char ?? '')) {
      const match = /^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(this.source.slice(this.position));
      if (!match) this.fail('expected a number');
      this.position += match![0].length;
      return { kind: 'literal', value: Number(match![0]) };
    }
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.source.startsWith(word, this.position)) {
        this.position += word.length;
        return { kind: 'literal', value };
      }
    }
    return this.fail('expected @, $, a string, a number, true, false or null');
  }

  private parseRegex(): RegExp {
    if (this.peek() !== '/') this.fail('expected a /regex/ after =~');
    const start = ++this.position;
    while (this.position < this.source.length && this.peek() !== '/') {
      if (this.peek() === '\\') this.position++;
      this.position++;
    }
    if (this.peek() !== '/') this.fail('unterminated /regex/');
    const pattern = this.source.slice(start, this.position++);
    const flags = /^[imsu]*/.exec(this.source.slice(this.position))![0];
    this.position += flags.length;
    try {
      return new RegExp(pattern, flags);
    } catch (error) {
      return this.fail(`bad regex: ${(error as Error).message}`);
    }
  }

  private parseString(): string {
    const quote = this.peek();
    this.position++;
    let value = '';
    while (this.position < this.source.length && this.peek() !== quote) {
      if (this.peek() === '\\') {
        this.position++;
        const escaped = this.peek();
        value += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped;
      } else {
        value += this.peek();
      }
      this.position++;
    }
    if (this.peek() !== quote) this.fail('unterminated string');
    this.position++;
    return value;
  }

  private parseInteger(): number {
    const match = /^-?\d+/.exec(this.source.slice(this.position));
    if (!match) this.fail('expected an integer');
    this.position += match![0].length;
    return Number(match![0]);
  }

  private expect(char: string): void {
    if (this.peek() !== char) this.fail(`expected "${char}"${this.position < this.source.length ? `, found "${this.peek()}"` : ' before the end'}`);
    this.position++;
  }

  private skipSpaces(): void {
    while (this.peek() === ' ') this.position++;
  }

  private peek(): string {
    return this.source[this.position];
  }

  private fail(problem: string): never {
    throw new JsonPathError(this.source, this.position, problem);
  }
}
