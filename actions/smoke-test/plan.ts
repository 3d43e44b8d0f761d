import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../../shared/duration.js';
import { InputError } from '../../shared/errors.js';
import { redactUrl } from '../../shared/secrets.js';
import { compileJsonPath, JsonPathError, type CompiledPath } from './jsonpath.js';
import {
  statusMatcher,
  type Assertion,
  type BodySpec,
  type CaptureSpec,
  type CheckPlan,
  type HeaderSpec,
  type RequestPlan,
  type RetryPlan,
  type SuitePlan,
  type TlsSettings,
} from './model.js';
import { isCredentialHeader, type SmokeInputs } from './inputs.js';
import { didYouMean, SuiteError, type ParsedSuite, type SuiteProblem } from './suite-load.js';
import { COMPARISON_OPERATORS, REQUEST_FIELDS, type AssertionOperator } from './suite-schema.js';
import type {
  Comparison,
  Duration,
  RawCapture,
  RawCheck,
  RawExpect,
  RawHeaderValue,
  RawRequest,
  RawRetry,
  RawSuite,
  ValueOrOperators,
} from './suite-types.js';
import { isGenerator, jsonReferences, templateReferences } from './template.js';

type DefaultExpect = NonNullable<NonNullable<RawSuite['defaults']>['expect']>;

/**
 * Turns a validated suite (or the url input) into the plan the runner executes: defaults and inputs
 * applied (request > suite defaults > inputs), JSONPaths and regexes compiled, CA files read, every
 * {{placeholder}} checked against what is defined at that point. Every problem is collected with its
 * line, and reported before a single request is sent.
 */

// Capture names that hold credentials: masked as soon as they are captured, before anything can print them.
const CREDENTIAL_NAME = /token|secret|password|passwd|session|cookie|api[-_]?key|credential|jwt|bearer/i;

export interface PlanContext {
  inputs: SmokeInputs;
  workspace: string;
  env: NodeJS.ProcessEnv;
}

/**
 * CA files by resolved path (null: missing), read once for the url check and every step naming the
 * same file. Made per plan, so a later plan reads the file as it is then.
 */
interface BuildContext extends PlanContext {
  caFiles: Map<string, string | null>;
}

/** Collects problems with their pointers; at the end they are located and thrown together. */
class Problems {
  readonly list: (SuiteProblem & { atKey?: boolean })[] = [];
  add(pointer: (string | number)[], message: string, atKey = false): void {
    this.list.push({ pointer: pointer.map(String), message, atKey });
  }
}

export function planFromInputs(planContext: PlanContext, parsed?: ParsedSuite): SuitePlan {
  const context: BuildContext = { ...planContext, caFiles: new Map() };
  const { inputs } = context;
  const problems = new Problems();
  const suite: RawSuite | undefined = parsed?.suite;
  const baseUrl = inputs.baseUrl ?? suite?.['base-url'];
  const suiteVariables = new Map<string, string>();
  const scopeNames = new Set<string>();

  for (const [name, value] of Object.entries(suite?.variables ?? {})) {
    checkReferences(String(value), ['variables', name], scopeNames, context, problems);
    suiteVariables.set(name, String(value));
    scopeNames.add(name);
  }

  const checks: CheckPlan[] = [];
  if (inputs.url) checks.push(urlCheck(context, baseUrl, problems));
  const names = new Set(checks.map((check) => check.name));
  suite?.checks.forEach((raw, index) => {
    const pointer = ['checks', index];
    if (names.has(raw.name))
      problems.add(
        [...pointer, 'name'],
        `another check is already named "${raw.name}"; names must be unique (they name the JUnit test cases)`,
      );
    names.add(raw.name);
    const check = buildCheck(raw, pointer, suite, context, baseUrl, scopeNames, problems);
    if (check) checks.push(check);
  });

  if (inputs.expectedVersion !== undefined) applyExpectedVersion(checks, suite, context, problems);

  if (problems.list.length > 0) {
    if (!parsed) throw new InputError('url', problems.list.map((problem) => problem.message).join('; '));
    throw new SuiteError(
      parsed.source,
      problems.list.map(({ atKey, ...problem }) => ({ ...problem, ...parsed.locate(problem.pointer, atKey) })),
    );
  }
  return {
    name: suite?.name ?? 'smoke-test',
    checks,
    variables: suiteVariables,
    source: parsed?.source.displayName,
    baseUrl,
  };
}

function urlCheck(context: BuildContext, baseUrl: string | undefined, problems: Problems): CheckPlan {
  const { inputs } = context;
  const url = inputs.url!;
  const request: RequestPlan = {
    // Named by its URL, minus any password in it (the name goes to outputs and the JUnit file).
    name: `${inputs.method} ${/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(url) ? redactUrl(url) : url}`,
    method: inputs.method,
    url: joinUrl(baseUrl, url),
    query: [],
    headers: inputHeaders(inputs),
    timeoutMs: inputs.timeoutMs,
    followRedirects: inputs.followRedirects,
    maxRedirects: 10,
    tls: readTls(undefined, undefined, context, [], problems),
    assertions: [statusAssertion(inputs.expectedStatus)],
    captures: [],
    sensitive: false,
  };
  if (inputs.maxResponseTimeMs !== undefined)
    request.assertions.push(comparisonAssertion('response-time', 'lte', inputs.maxResponseTimeMs));
  if (inputs.tlsExpiryDays !== undefined)
    request.assertions.push(comparisonAssertion('tls-days-to-expiry', 'gte', inputs.tlsExpiryDays));
  return {
    name: request.name,
    flow: false,
    steps: [request],
    retry: retryPlan(undefined, undefined, inputs),
    variables: [],
  };
}

function inputHeaders(inputs: SmokeInputs): HeaderSpec[] {
  return Object.entries(inputs.headers).map(([name, value]) => ({
    name,
    value,
    secret: inputs.secretHeaders.has(name.toLowerCase()),
  }));
}

export function joinUrl(baseUrl: string | undefined, url: string): string {
  if (!baseUrl || !url.startsWith('/')) return url;
  // Joined as text, not with new URL(url, base): a base of https://host/api keeps its /api prefix.
  return `${baseUrl.replace(/\/+$/, '')}${url}`;
}

function buildCheck(
  raw: RawCheck,
  pointer: (string | number)[],
  suite: RawSuite,
  context: BuildContext,
  baseUrl: string | undefined,
  suiteScope: Set<string>,
  problems: Problems,
): CheckPlan | undefined {
  const scope = new Set(suiteScope);
  const variables: [string, string][] = [];
  for (const [name, value] of Object.entries(raw.variables ?? {})) {
    checkReferences(String(value), [...pointer, 'variables', name], scope, context, problems);
    variables.push([name, String(value)]);
    scope.add(name);
  }
  const requestFieldsOnCheck = REQUEST_FIELDS.filter((field) => raw[field] !== undefined);
  let rawSteps: { raw: RawRequest; pointer: (string | number)[] }[];
  if (raw.steps) {
    if (requestFieldsOnCheck.length > 0) {
      problems.add(
        [...pointer, requestFieldsOnCheck[0]],
        `a check with steps sends only its steps' requests; move "${requestFieldsOnCheck[0]}" into a step`,
        true,
      );
      return undefined;
    }
    rawSteps = raw.steps.map((step, index) => ({ raw: step, pointer: [...pointer, 'steps', index] }));
  } else {
    if (raw.url === undefined) {
      problems.add(pointer, `check "${raw.name}" needs a "url" (one request) or "steps" (a flow)`);
      return undefined;
    }
    rawSteps = [{ raw, pointer }];
  }
  const steps: RequestPlan[] = [];
  const stepNames = new Set<string>();
  rawSteps.forEach(({ raw: step, pointer: stepPointer }, index) => {
    const name = raw.steps ? (step.name ?? `step ${index + 1}`) : raw.name;
    if (raw.steps && stepNames.has(name))
      problems.add([...stepPointer, 'name'], `another step of this check is already named "${name}"`);
    stepNames.add(name);
    steps.push(buildRequest(name, step, stepPointer, suite, context, baseUrl, scope, problems));
  });
  return {
    name: raw.name,
    description: raw.description,
    flow: raw.steps !== undefined,
    steps,
    retry: retryPlan(raw.retry, suite.defaults?.retry, context.inputs, [...pointer, 'retry'], problems),
    variables,
  };
}

function buildRequest(
  name: string,
  raw: RawRequest,
  pointer: (string | number)[],
  suite: RawSuite,
  context: BuildContext,
  baseUrl: string | undefined,
  scope: Set<string>,
  problems: Problems,
): RequestPlan {
  const { inputs } = context;
  const defaults = suite.defaults ?? {};
  const url = raw.url!;
  checkReferences(url, [...pointer, 'url'], scope, context, problems);
  if (url.startsWith('/') && !baseUrl) {
    problems.add(
      [...pointer, 'url'],
      `"${url}" is relative, but neither the base-url input nor the suite's base-url is set`,
    );
  } else if (!url.startsWith('/') && !url.startsWith('{{') && !/^https?:\/\//.test(url)) {
    problems.add(
      [...pointer, 'url'],
      `must be an http:// or https:// URL, or a path starting with / (joined to base-url); got ${JSON.stringify(url)}`,
    );
  }

  const query: [string, string][] = Object.entries(raw.query ?? {}).map(([key, value]) => {
    checkReferences(String(value), [...pointer, 'query', key], scope, context, problems);
    return [key, String(value)];
  });

  const headers = mergeHeaders([
    inputHeaders(inputs),
    headerSpecs(defaults.headers, ['defaults', 'headers'], scope, context, problems),
    headerSpecs(raw.headers, [...pointer, 'headers'], scope, context, problems),
  ]);

  const bodies = (['body', 'json', 'form'] as const).filter((field) => raw[field] !== undefined);
  if (bodies.length > 1)
    problems.add([...pointer, bodies[1]], `give one of body, json or form, not ${bodies.join(' and ')}`, true);
  let body: BodySpec | undefined;
  if (raw.json !== undefined) {
    for (const reference of jsonReferences(raw.json))
      checkReference(reference, [...pointer, 'json'], scope, context, problems);
    body = { kind: 'json', value: raw.json };
  } else if (raw.body !== undefined) {
    checkReferences(raw.body, [...pointer, 'body'], scope, context, problems);
    body = { kind: 'text', value: raw.body };
  } else if (raw.form !== undefined) {
    const form: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw.form)) {
      checkReferences(String(value), [...pointer, 'form', key], scope, context, problems);
      form[key] = String(value);
    }
    body = { kind: 'form', value: form };
  }

  const versionPath = versionPathOf(raw, suite, inputs);
  const assertions = buildAssertions(
    raw.expect,
    defaults.expect,
    [...pointer, 'expect'],
    inputs,
    scope,
    context,
    problems,
  );
  if (raw['version-check'] && inputs.expectedVersion !== undefined) {
    const compiled = compilePath(
      versionPath,
      [...pointer, raw['version-path'] ? 'version-path' : 'version-check'],
      problems,
    );
    if (compiled) assertions.push(versionAssertion(compiled, inputs.expectedVersion));
  }

  const captures: CaptureSpec[] = [];
  for (const [captureName, spec] of Object.entries(raw.capture ?? {})) {
    const capture = buildCapture(captureName, spec, [...pointer, 'capture', captureName], problems);
    if (capture) captures.push(capture);
  }
  // Captured names are usable from the next step on.
  for (const capture of captures) scope.add(capture.name);

  return {
    name,
    method: (raw.method ?? 'GET').toUpperCase(),
    url: joinUrl(baseUrl, url),
    query,
    headers,
    body,
    timeoutMs: durationMs(raw.timeout ?? defaults.timeout) ?? inputs.timeoutMs,
    followRedirects: raw['follow-redirects'] ?? defaults['follow-redirects'] ?? inputs.followRedirects,
    maxRedirects: raw['max-redirects'] ?? defaults['max-redirects'] ?? 10,
    tls: readTls(
      raw.tls,
      defaults.tls,
      context,
      raw.tls?.['ca-file'] ? [...pointer, 'tls', 'ca-file'] : ['defaults', 'tls', 'ca-file'],
      problems,
    ),
    assertions,
    captures,
    // A response that hands out a secret is itself secret: never print it, even truncated.
    sensitive: raw.sensitive ?? captures.some((capture) => capture.secret),
  };
}

function mergeHeaders(layers: HeaderSpec[][]): HeaderSpec[] {
  const merged = new Map<string, HeaderSpec>();
  for (const layer of layers) for (const header of layer) merged.set(header.name.toLowerCase(), header);
  return [...merged.values()];
}

function headerSpecs(
  raw: Record<string, RawHeaderValue> | undefined,
  pointer: (string | number)[],
  scope: Set<string>,
  context: PlanContext,
  problems: Problems,
): HeaderSpec[] {
  return Object.entries(raw ?? {}).map(([name, spec]) => {
    const value = typeof spec === 'object' ? String(spec.value) : String(spec);
    const marked = typeof spec === 'object' ? spec.secret : undefined;
    checkReferences(value, [...pointer, name], scope, context, problems);
    return { name, value, secret: marked ?? isCredentialHeader(name) };
  });
}

function readTls(
  raw: RawRequest['tls'],
  defaults: RawRequest['tls'],
  context: BuildContext,
  pointer: (string | number)[],
  problems: Problems,
): TlsSettings {
  const fromSuite = raw?.['ca-file'] ?? defaults?.['ca-file'];
  const caFile = fromSuite ?? context.inputs.caFile;
  const insecure = raw?.insecure ?? defaults?.insecure ?? context.inputs.insecureTls;
  if (!caFile) return { insecure };
  const file = path.resolve(context.workspace, caFile);
  let ca = context.caFiles.get(file);
  if (ca === undefined) {
    ca = existsSync(file) ? readFileSync(file, 'utf8') : null;
    context.caFiles.set(file, ca);
  }
  if (ca === null) {
    if (fromSuite) problems.add(pointer, `CA file ${caFile} does not exist (looked for ${file})`);
    else throw new InputError('ca-file', `names a file that does not exist: ${caFile} (looked for ${file}).`);
    return { insecure, caFile };
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    if (fromSuite) problems.add(pointer, `CA file ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    else throw new InputError('ca-file', `names ${caFile}, which holds no PEM certificate.`);
  }
  return { insecure, caFile, ca };
}

function retryPlan(
  raw: RawRetry | undefined,
  defaults: RawRetry | undefined,
  inputs: SmokeInputs,
  pointer: (string | number)[] = [],
  problems?: Problems,
): RetryPlan {
  const pick = <K extends keyof RawRetry>(key: K): RawRetry[K] => raw?.[key] ?? defaults?.[key];
  const backoffMs = durationMs(pick('backoff')) ?? inputs.backoffMs;
  const maxBackoffMs = durationMs(pick('max-backoff')) ?? Math.max(inputs.maxBackoffMs, backoffMs);
  if (maxBackoffMs < backoffMs)
    problems?.add([...pointer, 'max-backoff'], `must be at least the backoff (${backoffMs}ms)`);
  return {
    statuses: new Set(pick('statuses') ?? inputs.retryStatuses),
    consecutiveSuccesses: pick('consecutive-successes') ?? inputs.consecutiveSuccesses,
    warmup: pick('warmup') ?? inputs.warmup,
    backoffMs,
    maxBackoffMs,
    deadlineMs: durationMs(pick('deadline')),
    onAssertionFailure: pick('on-assertion-failure') ?? inputs.retryOnAssertionFailure,
  };
}

function durationMs(value: Duration | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Math.round(value * 1000);
  return parseDuration(value);
}

function statusAssertion(statuses: (string | number)[]): Assertion {
  const matchers = statuses.map(statusMatcher);
  return { subject: 'status', operator: 'status', expected: matchers, label: 'status' };
}

function comparisonAssertion(
  subject: 'response-time' | 'tls-days-to-expiry',
  operator: AssertionOperator,
  expected: number,
  httpsOnly = false,
): Assertion {
  return { subject, operator, expected, label: subject, httpsOnly };
}

function versionAssertion(pathToVersion: CompiledPath, expected: string): Assertion {
  return {
    subject: 'version',
    path: pathToVersion,
    target: pathToVersion.source,
    operator: 'version',
    expected,
    label: `version at ${pathToVersion.source}`,
  };
}

function buildAssertions(
  raw: RawExpect | undefined,
  defaults: DefaultExpect | undefined,
  pointer: (string | number)[],
  inputs: SmokeInputs,
  scope: Set<string>,
  context: PlanContext,
  problems: Problems,
): Assertion[] {
  const statuses = raw?.status ?? defaults?.status;
  const assertions: Assertion[] = [
    statusAssertion(statuses === undefined ? inputs.expectedStatus : ([] as (string | number)[]).concat(statuses)),
  ];

  // A request's own header expectations replace the defaults' (`headers: {}` drops them, e.g. for a 204).
  const headerBase = raw?.headers ? [...pointer, 'headers'] : ['defaults', 'expect', 'headers'];
  for (const [name, spec] of Object.entries(raw?.headers ?? defaults?.headers ?? {})) {
    assertions.push(
      ...valueAssertions(
        'header',
        name.toLowerCase(),
        undefined,
        spec,
        [...headerBase, name],
        scope,
        context,
        problems,
      ),
    );
  }
  for (const [jsonPath, spec] of Object.entries(raw?.json ?? {})) {
    const compiled = compilePath(jsonPath, [...pointer, 'json', jsonPath], problems, true);
    if (compiled)
      assertions.push(
        ...valueAssertions('json', jsonPath, compiled, spec, [...pointer, 'json', jsonPath], scope, context, problems),
      );
  }
  if (raw?.body !== undefined) {
    const spec = typeof raw.body === 'string' ? { contains: raw.body } : raw.body;
    assertions.push(
      ...valueAssertions('body', undefined, undefined, spec, [...pointer, 'body'], scope, context, problems),
    );
  }

  const responseTime = raw?.['response-time'] ?? defaults?.['response-time'];
  if (responseTime !== undefined) {
    for (const [operator, value] of comparisonEntries(responseTime, 'lte'))
      assertions.push(comparisonAssertion('response-time', operator, durationMs(value as Duration)!));
  } else if (inputs.maxResponseTimeMs !== undefined) {
    assertions.push(comparisonAssertion('response-time', 'lte', inputs.maxResponseTimeMs));
  }
  const tlsDays = raw?.['tls-days-to-expiry'];
  const defaultTlsDays = defaults?.['tls-days-to-expiry'];
  if (tlsDays !== undefined) {
    for (const [operator, value] of comparisonEntries(tlsDays, 'gte'))
      assertions.push(comparisonAssertion('tls-days-to-expiry', operator, value as number));
  } else if (defaultTlsDays !== undefined) {
    for (const [operator, value] of comparisonEntries(defaultTlsDays, 'gte'))
      assertions.push(comparisonAssertion('tls-days-to-expiry', operator, value as number, true));
  } else if (inputs.tlsExpiryDays !== undefined) {
    assertions.push(comparisonAssertion('tls-days-to-expiry', 'gte', inputs.tlsExpiryDays, true));
  }
  return assertions;
}

function comparisonEntries<T>(value: Comparison<T>, shorthand: AssertionOperator): [AssertionOperator, T][] {
  if (value !== null && typeof value === 'object') return Object.entries(value) as [AssertionOperator, T][];
  return [[shorthand, value]];
}

function valueAssertions(
  subject: 'json' | 'header' | 'body',
  target: string | undefined,
  compiled: CompiledPath | undefined,
  spec: ValueOrOperators,
  pointer: (string | number)[],
  scope: Set<string>,
  context: PlanContext,
  problems: Problems,
): Assertion[] {
  const operators: [string, unknown][] =
    spec !== null && typeof spec === 'object' && !Array.isArray(spec)
      ? Object.entries(spec)
      : [['equals', subject === 'header' ? String(spec) : spec]];
  const subjectLabel = subject === 'body' ? 'body' : subject === 'header' ? `header ${target}` : `json ${target}`;
  return operators.map(([operator, expected]) => {
    const operatorPointer =
      spec !== null && typeof spec === 'object' && !Array.isArray(spec) ? [...pointer, operator] : pointer;
    for (const reference of jsonReferences(expected))
      checkReference(reference, operatorPointer, scope, context, problems);
    if (
      (operator === 'matches' || operator === 'not-matches') &&
      typeof expected === 'string' &&
      templateReferences(expected).length === 0
    ) {
      try {
        new RegExp(expected);
      } catch (error) {
        problems.add(operatorPointer, `is not a valid regular expression: ${(error as Error).message}`);
      }
    }
    if (
      (COMPARISON_OPERATORS as readonly string[]).includes(operator) &&
      typeof expected === 'string' &&
      subject === 'header' &&
      Number.isNaN(Number(expected)) &&
      templateReferences(expected).length === 0
    ) {
      problems.add(operatorPointer, `compares numbers; got ${JSON.stringify(expected)}`);
    }
    return {
      subject,
      target,
      path: compiled,
      operator: operator as AssertionOperator,
      expected,
      label: `${subjectLabel} ${operator}`,
    };
  });
}

function buildCapture(
  name: string,
  spec: RawCapture,
  pointer: (string | number)[],
  problems: Problems,
): CaptureSpec | undefined {
  const object = typeof spec === 'string' ? { json: spec } : spec;
  if (object.json !== undefined && object.header !== undefined) {
    problems.add(pointer, 'capture from json or from a header, not both');
    return undefined;
  }
  let regex: RegExp | undefined;
  if (object.regex !== undefined) {
    try {
      regex = new RegExp(object.regex);
    } catch (error) {
      problems.add([...pointer, 'regex'], `is not a valid regular expression: ${(error as Error).message}`);
      return undefined;
    }
  }
  const secret = object.secret ?? CREDENTIAL_NAME.test(name);
  if (object.json !== undefined) {
    const compiled = compilePath(object.json, typeof spec === 'string' ? pointer : [...pointer, 'json'], problems);
    return compiled ? { name, source: 'json', path: compiled, regex, secret, label: object.json } : undefined;
  }
  if (object.header !== undefined)
    return {
      name,
      source: 'header',
      header: object.header.toLowerCase(),
      regex,
      secret,
      label: `header ${object.header}`,
    };
  if (!regex) {
    problems.add(pointer, 'needs json (a JSONPath), header (a header name) or regex (over the body)');
    return undefined;
  }
  return { name, source: 'body', regex, secret, label: `body /${object.regex}/` };
}

function compilePath(
  source: string,
  pointer: (string | number)[],
  problems: Problems,
  atKey = false,
): CompiledPath | undefined {
  try {
    return compileJsonPath(source);
  } catch (error) {
    problems.add(pointer, error instanceof JsonPathError ? error.message : String(error), atKey);
    return undefined;
  }
}

function checkReferences(
  text: string,
  pointer: (string | number)[],
  scope: Set<string>,
  context: PlanContext,
  problems: Problems,
): void {
  for (const reference of templateReferences(text)) checkReference(reference, pointer, scope, context, problems);
}

function checkReference(
  name: string,
  pointer: (string | number)[],
  scope: Set<string>,
  context: PlanContext,
  problems: Problems,
): void {
  if (isGenerator(name)) return;
  if (name.startsWith('$')) {
    problems.add(
      pointer,
      `{{${name}}} is not a known generator; known: {{$uuid}}, {{$random}}, {{$timestamp}}, {{$isoTime}}`,
    );
    return;
  }
  if (name.startsWith('env.')) {
    if (context.env[name.slice(4)] === undefined) {
      problems.add(
        pointer,
        `{{${name}}} reads environment variable ${name.slice(4)}, which is not set (give it to the step with env:)`,
      );
    }
    return;
  }
  if (!scope.has(name)) {
    const known = [...scope];
    problems.add(
      pointer,
      `{{${name}}} is not defined at this point${didYouMean(name, known)}${known.length ? `; defined: ${known.join(', ')}` : ''} (captures are usable from the next step on)`,
    );
  }
}

/**
 * expected-version applies to requests marked `version-check: true`; a suite that marks none gets it
 * on its first single-request check (by convention the health check), and the url input's check
 * always gets it.
 */
function applyExpectedVersion(
  checks: CheckPlan[],
  suite: RawSuite | undefined,
  context: PlanContext,
  problems: Problems,
): void {
  const { inputs } = context;
  const expected = inputs.expectedVersion!;
  const marked = checks.some((check) =>
    check.steps.some((step) => step.assertions.some((assertion) => assertion.subject === 'version')),
  );
  const urlCheck = inputs.url ? checks[0] : undefined;
  if (urlCheck) {
    const compiled = compilePath(inputs.versionPath, [], problems);
    if (compiled) urlCheck.steps[0].assertions.push(versionAssertion(compiled, expected));
  }
  if (marked || urlCheck) return;
  const index = checks.findIndex((check) => !check.flow);
  if (index < 0) {
    throw new InputError(
      'expected-version',
      'is set, but the suite has no single-request check to read the version from; mark a step with "version-check: true".',
    );
  }
  const rawCheck = suite?.checks.find((check) => check.name === checks[index].name);
  const compiled = compilePath(versionPathOf(rawCheck, suite, inputs), [], problems);
  if (compiled) checks[index].steps[0].assertions.push(versionAssertion(compiled, expected));
}

function versionPathOf(raw: RawRequest | undefined, suite: RawSuite | undefined, inputs: SmokeInputs): string {
  return raw?.['version-path'] ?? suite?.defaults?.['version-path'] ?? inputs.versionPath;
}
