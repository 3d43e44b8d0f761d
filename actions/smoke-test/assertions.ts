import type { HttpResponse } from '../../shared/http/request.js';
import { deepEqual, queryJsonPath } from './jsonpath.js';
import type { Assertion, StatusMatcher } from './model.js';

/**
 * Evaluates one assertion against one response. Results carry expected and actual as short text,
 * because that pair is what the summary, the failed-checks output and the JUnit report show.
 */

export interface AssertionResult {
  label: string;
  passed: boolean;
  expected: string;
  actual: string;
}

const MISSING = Symbol('missing');
type Actual = unknown | typeof MISSING;

/** The parts of a response assertions read, with the JSON body parsed once. */
export class ResponseView {
  private parsed?: { value?: unknown; error?: string };
  readonly text: string;
  constructor(readonly response: HttpResponse) {
    this.text = response.body.toString('utf8');
  }
  get https(): boolean {
    return this.response.url.startsWith('https:');
  }
  json(): { value?: unknown; error?: string } {
    if (!this.parsed) {
      try {
        this.parsed = { value: JSON.parse(this.text) as unknown };
      } catch (error) {
        const contentType = this.response.headers['content-type'] ?? 'no content-type';
        this.parsed = {
          error: `body is not JSON (${contentType}${this.response.bodyTruncated ? ', truncated' : ''}): ${(error as Error).message}`,
        };
      }
    }
    return this.parsed;
  }
}

export function formatValue(value: Actual, limit = 200): string {
  if (value === MISSING) return '(missing)';
  if (value === undefined) return 'undefined';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > limit ? `${text.slice(0, limit - 3)}...` : text;
}

/** Returns undefined when the assertion does not apply (an https-only default on a plain http request). */
export function evaluateAssertion(
  assertion: Assertion,
  view: ResponseView,
  render: (value: unknown) => unknown,
): AssertionResult | undefined {
  const result = (passed: boolean, expected: string, actual: string): AssertionResult => ({
    label: assertion.label,
    passed,
    expected,
    actual,
  });
  switch (assertion.subject) {
    case 'status': {
      const matchers = assertion.expected as StatusMatcher[];
      const status = view.response.status;
      return result(
        matchers.some((matcher) => matcher.matches(status)),
        matchers.map((matcher) => matcher.text).join(' or '),
        `${status}${view.response.statusText ? ` ${view.response.statusText}` : ''}`,
      );
    }
    case 'version': {
      const expected = String(assertion.expected);
      const json = view.json();
      if (json.error) return result(false, expected, `(${json.error})`);
      const [found] = queryJsonPath(assertion.path!, json.value);
      if (found === undefined) return result(false, expected, `(no value at ${assertion.target})`);
      return result(sameVersion(String(found), expected), expected, String(found));
    }
    case 'response-time':
      return compareNumbers(assertion, view.response.totalMs, render, (ms) => `${Math.round(ms)}ms`, result);
    case 'tls-days-to-expiry': {
      const certificate = view.response.certificate;
      if (!view.https || !certificate) {
        if (assertion.httpsOnly) return undefined;
        return result(
          false,
          describeOperator(assertion.operator, assertion.expected, (days) => `${days} days`),
          '(not an https request: no certificate)',
        );
      }
      const days = Math.floor(certificate.daysToExpiry * 10) / 10;
      const outcome = compareNumbers(assertion, days, render, (value) => `${value} days`, result);
      return {
        ...outcome,
        actual: `${outcome.actual} (expires ${certificate.validTo.toISOString()}, ${certificate.subject || 'no subject'})`,
      };
    }
    case 'header': {
      const value = view.response.headers[assertion.target!];
      return applyOperator(assertion, value === undefined ? MISSING : value, render, result);
    }
    case 'body':
      return applyOperator(assertion, view.text, render, result);
    case 'json': {
      const json = view.json();
      if (json.error)
        return result(false, describeOperator(assertion.operator, render(assertion.expected)), `(${json.error})`);
      const values = queryJsonPath(assertion.path!, json.value);
      const actual: Actual = assertion.path!.definite ? (values.length > 0 ? values[0] : MISSING) : values;
      return applyOperator(assertion, actual, render, result);
    }
  }
}

/** v1.2.0 and 1.2.0 name the same release: tags and package versions disagree about the "v". */
export function sameVersion(actual: string, expected: string): boolean {
  const strip = (text: string) => text.trim().replace(/^v(?=\d)/i, '');
  return actual.trim() === expected.trim() || strip(actual) === strip(expected);
}

function compareNumbers(
  assertion: Assertion,
  actual: number,
  render: (value: unknown) => unknown,
  show: (value: number) => string,
  result: (passed: boolean, expected: string, actual: string) => AssertionResult,
): AssertionResult {
  const expected = Number(render(assertion.expected));
  const passed = compare(assertion.operator, actual, expected);
  return result(
    passed,
    describeOperator(assertion.operator, expected, (value) => show(Number(value))),
    show(actual),
  );
}

function compare(operator: string, actual: number | string, expected: number | string): boolean {
  switch (operator) {
    case 'lt':
      return actual < expected;
    case 'lte':
      return actual <= expected;
    case 'gt':
      return actual > expected;
    case 'gte':
      return actual >= expected;
    default:
      return false;
  }
}

const SYMBOLS: Record<string, string> = { lt: '<', lte: '<=', gt: '>', gte: '>=' };

export function describeOperator(
  operator: string,
  expected: unknown,
  show: (value: unknown) => string = (value) => formatValue(value),
): string {
  switch (operator) {
    case 'equals':
      return show(expected);
    case 'not-equals':
      return `not ${show(expected)}`;
    case 'one-of':
      return `one of ${(expected as unknown[]).map((value) => show(value)).join(', ')}`;
    case 'matches':
      return `matching /${String(expected)}/`;
    case 'not-matches':
      return `not matching /${String(expected)}/`;
    case 'contains':
      return `containing ${show(expected)}`;
    case 'not-contains':
      return `not containing ${show(expected)}`;
    case 'exists':
      return expected ? 'present' : 'absent';
    case 'type':
      return `of type ${String(expected)}`;
    case 'length':
      return `length ${String(expected)}`;
    default:
      return SYMBOLS[operator] ? `${SYMBOLS[operator]} ${show(expected)}` : `${operator} ${show(expected)}`;
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  return typeOf(value) === type;
}

function lengthOf(value: unknown): number | undefined {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  return undefined;
}

function asComparable(value: unknown): number | string | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
  return undefined;
}

function applyOperator(
  assertion: Assertion,
  actual: Actual,
  render: (value: unknown) => unknown,
  result: (passed: boolean, expected: string, actual: string) => AssertionResult,
): AssertionResult {
  const operator = assertion.operator;
  const expected = render(assertion.expected);
  const expectedText = describeOperator(operator, expected);
  if (operator === 'exists')
    return result(
      (actual !== MISSING) === Boolean(expected),
      expectedText,
      actual === MISSING ? '(missing)' : 'present',
    );
  if (actual === MISSING) return result(false, expectedText, '(missing)');
  const shown = formatValue(actual);
  switch (operator) {
    case 'equals':
      return result(deepEqual(actual, expected), expectedText, shown);
    case 'not-equals':
      return result(!deepEqual(actual, expected), expectedText, shown);
    case 'one-of':
      return result(
        (expected as unknown[]).some((option) => deepEqual(actual, option)),
        expectedText,
        shown,
      );
    case 'matches':
    case 'not-matches': {
      const matched =
        (typeof actual === 'string' || typeof actual === 'number' || typeof actual === 'boolean') &&
        new RegExp(String(expected)).test(String(actual));
      return result(operator === 'matches' ? matched : !matched, expectedText, shown);
    }
    case 'contains':
    case 'not-contains': {
      let contained: boolean;
      if (typeof actual === 'string') contained = actual.includes(String(expected));
      else if (Array.isArray(actual))
        contained = actual.some(
          (item) => deepEqual(item, expected) || (typeof item === 'string' && item === String(expected)),
        );
      else if (actual !== null && typeof actual === 'object')
        contained = Object.prototype.hasOwnProperty.call(actual, String(expected));
      else contained = false;
      return result(operator === 'contains' ? contained : !contained, expectedText, shown);
    }
    case 'type':
      return result(matchesType(actual, String(expected)), expectedText, `${typeOf(actual)} ${shown}`);
    case 'length': {
      const length = lengthOf(actual);
      return result(
        length === Number(expected),
        expectedText,
        length === undefined ? `${typeOf(actual)} ${shown} (has no length)` : `length ${length}: ${shown}`,
      );
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      const a = asComparable(actual);
      const b = asComparable(expected);
      if (a === undefined || b === undefined || typeof a !== typeof b)
        return result(false, expectedText, `${shown} (not comparable with ${formatValue(expected)})`);
      return result(compare(operator, a, b), expectedText, shown);
    }
    default:
      return result(false, expectedText, `(unknown operator ${operator})`);
  }
}
