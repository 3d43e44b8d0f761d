import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateAssertion, ResponseView } from '../../actions/smoke-test/assertions.js';
import { compileJsonPath, JsonPathError } from '../../actions/smoke-test/jsonpath.js';
import type { Assertion } from '../../actions/smoke-test/model.js';
import type { HttpResponse } from '../../shared/http/request.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';

/**
 * The JSONPath Compliance Test Suite (RFC 9535; __tests__/fixtures/jsonpath-cts/, BSD-2), every case,
 * through smoke-test's own code: the path compiled as suite validation compiles it (an invalid
 * selector must be refused there, before any request), then a `json:` assertion evaluated against a
 * response whose body is the case's document, exactly as the runner evaluates it: a singular path
 * compared as its one value (or missing), any other path as the list it selects. Each assertion
 * must also fail when the expectation is wrong, so none passes by accident.
 */
interface CtsCase {
  name: string;
  selector: string;
  document?: unknown;
  result?: unknown[];
  results?: unknown[][];
  invalid_selector?: boolean;
}

const { tests } = JSON.parse(
  readFileSync(path.join(REPO_ROOT, '__tests__', 'fixtures', 'jsonpath-cts', 'cts.json'), 'utf8'),
) as { tests: CtsCase[] };
const NOT_IN_ANY_DOCUMENT = '\u0000not in any document\u0000';

function response(document: unknown): HttpResponse {
  return {
    status: 200,
    statusText: 'OK',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(document)),
    bodyTruncated: false,
    url: 'http://127.0.0.1/cts',
    redirects: [],
    timeToHeadersMs: 1,
    totalMs: 1,
  };
}

/** The json assertion a suite would write for this case, and one that must fail. */
function assertions(
  test: CtsCase,
  definite: boolean,
): { right: Pick<Assertion, 'operator' | 'expected'>; wrong: Pick<Assertion, 'operator' | 'expected'> } {
  if (test.results)
    return {
      right: { operator: 'one-of', expected: test.results },
      wrong: { operator: 'one-of', expected: test.results.map((result) => [...result, NOT_IN_ANY_DOCUMENT]) },
    };
  const result = test.result!;
  if (!definite)
    return {
      right: { operator: 'equals', expected: result },
      wrong: { operator: 'equals', expected: [...result, NOT_IN_ANY_DOCUMENT] },
    };
  if (result.length === 0)
    return { right: { operator: 'exists', expected: false }, wrong: { operator: 'exists', expected: true } };
  return {
    right: { operator: 'equals', expected: result[0] },
    wrong: { operator: 'equals', expected: NOT_IN_ANY_DOCUMENT },
  };
}

describe('JSONPath Compliance Test Suite through smoke-test', () => {
  const valid = tests.filter((test) => !test.invalid_selector);
  const invalid = tests.filter((test) => test.invalid_selector);

  it('has every case of the suite (none filtered out)', () => {
    expect(tests).toHaveLength(703);
    expect(valid.length + invalid.length).toBe(tests.length);
  });

  it.each(valid.map((test) => [test.name, test] as const))('%s', (_name, test) => {
    const compiled = compileJsonPath(test.selector);
    const view = new ResponseView(response(test.document));
    const { right, wrong } = assertions(test, compiled.definite);
    const evaluate = (spec: Pick<Assertion, 'operator' | 'expected'>) =>
      evaluateAssertion(
        {
          subject: 'json',
          target: test.selector,
          path: compiled,
          ...spec,
          label: `json ${test.selector} ${spec.operator}`,
        },
        view,
        (value) => value,
      )!;
    const outcome = evaluate(right);
    expect({ passed: outcome.passed, expected: outcome.expected, actual: outcome.actual }).toEqual({
      passed: true,
      expected: outcome.expected,
      actual: outcome.actual,
    });
    expect(evaluate(wrong).passed).toBe(false);
  });

  it.each(invalid.map((test) => [test.name, test.selector] as const))('refuses %s', (_name, selector) => {
    expect(() => compileJsonPath(selector)).toThrow(JsonPathError);
  });
});
