import { JSONPathEnvironment, JSONPathError, jsonpath, type JSONPathQuery, type JSONValue } from 'json-p3';

/**
 * JSONPath as RFC 9535 defines it, by json-p3 (it passes the whole JSONPath Compliance Test Suite,
 * which __tests__/smoke/jsonpath-cts.test.ts runs through this module and the assertions): `$`,
 * `.name`, `['name']`, `[0]`, `[-1]`, `[*]`, `..name`, unions, slices, filters with comparisons,
 * `&&`, `||`, `!`, and the functions `length()`, `count()`, `match()`, `search()` and `value()`.
 * Paths are parsed once, when the suite is validated, so a typo is reported with its line before
 * any request is sent; so is a regular expression given to match() or search() that is not an
 * I-Regexp (RFC 9485), which the RFC would otherwise let match nothing, silently.
 */

export class JsonPathError extends Error {
  constructor(path: string, position: number | undefined, problem: string) {
    super(
      `invalid JSONPath ${JSON.stringify(path)}${position === undefined ? '' : ` at character ${position + 1}`}: ${problem}`,
    );
    this.name = 'JsonPathError';
  }
}

export interface CompiledPath {
  source: string;
  query: JSONPathQuery;
  /** True for an RFC 9535 singular query: one value at most (only names and indexes, no ..). */
  definite: boolean;
}

// Strict: RFC 9535 only, none of json-p3's extensions (keys selectors and the like).
const environment = new JSONPathEnvironment({ strict: true });
const { FilterSelector } = jsonpath.selectors;
const { FilterQuery, FunctionExtension, InfixExpression, LogicalExpression, PrefixExpression, StringLiteral } =
  jsonpath.expressions;
// The regex functions as RFC 9535 runs them, but throwing on a pattern that is not an I-Regexp.
const regexChecker = new jsonpath.functions.Match({ throwErrors: true, iRegexpCheck: true });

export function compileJsonPath(source: string): CompiledPath {
  let query: JSONPathQuery;
  try {
    query = environment.compile(source);
  } catch (error) {
    if (!(error instanceof JSONPathError)) throw error;
    const migration = legacyRegexMigration(source);
    if (migration) throw new JsonPathError(source, undefined, migration);
    throw new JsonPathError(
      source,
      error.token.index,
      firstLine(error.token.kind === 'TOKEN_ERROR' && error.token.value ? error.token.value : error.message),
    );
  }
  checkRegexArguments(source, query);
  return { source, query, definite: query.singularQuery() };
}

/** Every value the path selects, in document order. */
export function queryJsonPath(path: CompiledPath, document: unknown): unknown[] {
  return path.query.query(document as JSONValue).values();
}

/** json-p3's message without its "('context':index)" tail (we say where), and its lexer's one jargon phrase. */
function firstLine(message: string): string {
  const problem = message.replace(/ \(.*:\d+\)$/s, '');
  return problem === "can't backup beyond start" ? 'the path ends too early' : problem;
}

/**
 * The `=~ /regex/flags` filters earlier releases accepted are not RFC 9535: the message says what to
 * write instead, with the rewrite of each one (search() finds the pattern anywhere, like =~ did).
 */
function legacyRegexMigration(source: string): string | undefined {
  // The operand: @ or $, then names and brackets holding names, indexes or * (what a filter compares).
  const legacy = /([@$](?:\.{1,2}[\w-]+|\[(?:'[^']*'|"[^"]*"|[\d:*, -])*\])*)\s*=~\s*\/((?:\\.|[^/\\])*)\/([a-z]*)/g;
  const rewrites = [...source.matchAll(legacy)].map(([whole, operand, pattern, flags]) => {
    const literal = `'${pattern.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    const note = flags ? ` (I-Regexp has no flags: /${flags} cannot be carried over; write case variants as [Aa])` : '';
    return `${whole} -> search(${operand}, ${literal})${note}`;
  });
  if (rewrites.length === 0) return undefined;
  return `"=~ /regex/" is not RFC 9535 JSONPath and is no longer supported; use search() (the pattern anywhere in the value) or match() (the whole value): ${rewrites.join('; ')}`;
}

type Walkable = { token: { index: number } };

/** Checks the literal patterns given to match() and search() anywhere in the path, nested filters included. */
function checkRegexArguments(source: string, query: JSONPathQuery): void {
  const visitExpression = (expression: Walkable): void => {
    if (expression instanceof LogicalExpression) visitExpression(expression.expression);
    else if (expression instanceof InfixExpression) [expression.left, expression.right].forEach(visitExpression);
    else if (expression instanceof PrefixExpression) visitExpression(expression.right);
    else if (expression instanceof FilterQuery) visitQuery(expression.path);
    else if (expression instanceof FunctionExtension) {
      expression.args.forEach(visitExpression);
      const pattern = expression.args[1];
      if ((expression.name === 'match' || expression.name === 'search') && pattern instanceof StringLiteral) {
        try {
          regexChecker.call('', pattern.value);
        } catch (error) {
          throw new JsonPathError(
            source,
            pattern.token.index,
            `${expression.name}() needs an I-Regexp (RFC 9485); ${JSON.stringify(pattern.value)} is not one: ${firstLine((error as Error).message)}`,
          );
        }
      }
    }
  };
  const visitQuery = (inner: JSONPathQuery): void => {
    for (const segment of inner.segments) {
      for (const selector of segment.selectors)
        if (selector instanceof FilterSelector) visitExpression(selector.expression);
    }
  };
  visitQuery(query);
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
  return (
    aKeys.length === bKeys.length &&
    aKeys.every(
      (key) =>
        Object.prototype.hasOwnProperty.call(b, key) &&
        deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
    )
  );
}
