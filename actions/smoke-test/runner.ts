import { performance } from 'node:perf_hooks';
import { pause } from '../../shared/cancellation.js';
import { httpRequest, HttpRequestError, type HttpResponse } from '../../shared/http/request.js';
import { evaluateAssertion, ResponseView, type AssertionResult } from './assertions.js';
import { queryJsonPath } from './jsonpath.js';
import type { CaptureSpec, CheckPlan, RequestPlan, SuitePlan } from './model.js';
import type { Redactor } from './redact.js';
import { MapScope, renderJson, renderTemplate, type TemplateScope } from './template.js';

/**
 * Runs the checks one after another. Each check is retried with exponential backoff and jitter
 * until it passes (once, or N times in a row) or until the deadline; a failure that retrying cannot
 * fix (a wrong status that is not in the retry list, a TLS error) ends the check at once, so a
 * broken deploy is reported in seconds rather than at the deadline.
 */

export type FailureKind =
  'assertion' | 'timeout' | 'connection' | 'tls' | 'protocol' | 'redirect' | 'template' | 'capture' | 'consecutive';

export interface Failure {
  kind: FailureKind;
  step?: string;
  assertion: string;
  expected: string;
  actual: string;
}

export interface StepOutcome {
  step: string;
  request: string;
  status?: number;
  ms: number;
  failure?: Failure;
  failedAssertions: number;
  /** Redacted, truncated response body for failures; undefined when the step is sensitive. */
  bodyExcerpt?: string;
}

export interface AttemptOutcome {
  passed: boolean;
  retryable: boolean;
  steps: StepOutcome[];
  failure?: Failure;
  latencyMs: number;
  requests: number;
}

export interface CheckResult {
  name: string;
  flow: boolean;
  passed: boolean;
  /** Attempts that counted (warm-up requests excluded). */
  attempts: number;
  requests: number;
  /** Latency of the last counted attempt (a flow's steps added up). */
  latencyMs: number;
  durationMs: number;
  failure?: Failure;
  /** Why retrying stopped, when the check failed. */
  note?: string;
  log: string[];
  bodyExcerpt?: string;
}

export interface RunResult {
  checks: CheckResult[];
  passed: boolean;
  attempts: number;
  requests: number;
  durationMs: number;
}

export interface RunContext {
  /** Absolute time (performance.now()) when every retry stops. */
  deadlineAt: number;
  redactor: Redactor;
  log: (line: string) => void;
  env: NodeJS.ProcessEnv;
  startGroup?: (name: string) => void;
  endGroup?: () => void;
  /** Injected for tests of the schedule; Math.random otherwise. */
  random?: () => number;
}

const BODY_EXCERPT_CHARS = 2_000;
// A retry only starts if at least this much time is left before the deadline: an attempt with a
// few milliseconds of budget can only time out, and would report that instead of the real failure.
const MIN_ATTEMPT_WINDOW_MS = 100;

export async function runSuite(plan: SuitePlan, context: RunContext): Promise<RunResult> {
  const started = performance.now();
  const suiteScope = renderSuiteVariables(plan, context);
  const checks: CheckResult[] = [];
  for (const check of plan.checks) {
    context.startGroup?.(context.redactor.redact(`check: ${check.name}`));
    try {
      checks.push(await runCheck(check, suiteScope, context));
    } finally {
      context.endGroup?.();
    }
  }
  return {
    checks,
    passed: checks.every((check) => check.passed),
    attempts: checks.reduce((sum, check) => sum + check.attempts, 0),
    requests: checks.reduce((sum, check) => sum + check.requests, 0),
    durationMs: performance.now() - started,
  };
}

function renderSuiteVariables(plan: SuitePlan, context: RunContext): TemplateScope {
  const values = new Map<string, string>();
  const scope = new MapScope(values, context.env);
  for (const [name, template] of plan.variables) values.set(name, renderTemplate(template, scope));
  return scope;
}

/** Exponential backoff with "equal jitter": between half and all of base * 2^(n-1), capped. */
export function backoffDelay(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

async function runCheck(check: CheckPlan, suiteScope: TemplateScope, context: RunContext): Promise<CheckResult> {
  const started = performance.now();
  const checkDeadline = Math.min(
    context.deadlineAt,
    check.retry.deadlineMs !== undefined ? started + check.retry.deadlineMs : Infinity,
  );
  const log: string[] = [];
  const say = (line: string) => {
    const shown = context.redactor.redact(line);
    log.push(shown);
    context.log(shown);
  };
  const needed = check.retry.consecutiveSuccesses;
  let warmups = check.retry.warmup;
  let attempts = 0;
  let requests = 0;
  let consecutive = 0;
  let failures = 0;
  let last: AttemptOutcome | undefined;
  let lastFailure: AttemptOutcome | undefined;

  const finish = (passed: boolean, failure?: Failure, note?: string): CheckResult => ({
    name: check.name,
    flow: check.flow,
    passed,
    attempts,
    requests,
    latencyMs: last?.latencyMs ?? 0,
    durationMs: performance.now() - started,
    failure,
    note,
    log,
    bodyExcerpt: passed ? undefined : lastFailure?.steps.find((step) => step.failure)?.bodyExcerpt,
  });

  for (;;) {
    const remainingMs = checkDeadline - performance.now();
    if (warmups > 0 && remainingMs < MIN_ATTEMPT_WINDOW_MS) {
      say(`  ${warmups} warm-up request${warmups === 1 ? '' : 's'} skipped: the deadline is reached`);
      warmups = 0;
    }
    const warmup = warmups > 0;
    // Warm-ups fit in the deadline; the first counted attempt always gets its full timeout; later ones must end by the deadline.
    const budgetMs = attempts === 0 && !warmup ? Infinity : Math.max(1, remainingMs);
    const outcome = await runAttempt(check, suiteScope, context, budgetMs);
    requests += outcome.requests;
    if (warmup) {
      warmups--;
      say(`  warm-up request: ${describeAttempt(outcome)} (not counted)`);
      continue;
    }
    attempts++;
    last = outcome;
    let delay: number;
    if (outcome.passed) {
      consecutive++;
      say(
        `✓ ${check.name}: attempt ${attempts} passed in ${Math.round(outcome.latencyMs)} ms${needed > 1 ? ` (${consecutive} of ${needed} in a row)` : ''}${check.flow ? ` [${outcome.steps.map((step) => `${step.step} ${step.status}`).join(', ')}]` : ` (${outcome.steps[0]?.status})`}`,
      );
      if (consecutive >= needed) return finish(true);
      delay = check.retry.backoffMs;
    } else {
      consecutive = 0;
      failures++;
      lastFailure = outcome;
      const failure = outcome.failure!;
      say(`✗ ${check.name}: attempt ${attempts} failed: ${describeFailure(failure)}`);
      if (!outcome.retryable) {
        logBody(outcome, say);
        const hadSuccesses = needed > 1 && attempts > 1;
        return finish(
          false,
          failure,
          `${describeStop(failure)}${hadSuccesses ? `; ${needed} passes in a row were required` : ''}`,
        );
      }
      delay = backoffDelay(failures, check.retry.backoffMs, check.retry.maxBackoffMs, context.random);
    }
    const remaining = checkDeadline - performance.now();
    if (remaining - delay < MIN_ATTEMPT_WINDOW_MS) {
      const deadlineNote = `deadline reached after ${attempts} attempt${attempts === 1 ? '' : 's'} (${((performance.now() - started) / 1000).toFixed(1)}s)`;
      if (outcome.passed) {
        const failure: Failure = {
          kind: 'consecutive',
          assertion: 'consecutive successes',
          expected: `${needed} passes in a row`,
          actual: `${consecutive} in a row before the deadline`,
        };
        say(`✗ ${check.name}: ${deadlineNote}; passed ${consecutive} of ${needed} times in a row`);
        return finish(false, failure, deadlineNote);
      }
      logBody(outcome, say);
      say(`✗ ${check.name}: ${deadlineNote}`);
      return finish(false, outcome.failure, deadlineNote);
    }
    if (!outcome.passed) say(`  retrying in ${formatMs(delay)} (${describeRetryReason(outcome.failure!)})`);
    await pause(delay, `Stopped retrying ${check.name}`);
  }
}

function describeStop(failure: Failure): string {
  if (failure.kind === 'tls') return 'not retried: TLS errors do not fix themselves';
  if (failure.kind === 'assertion' && failure.assertion === 'status')
    return `not retried: ${failure.actual.split(' ')[0]} is not in retry-statuses`;
  if (failure.kind === 'assertion' || failure.kind === 'capture')
    return 'not retried: the service answered (retry-on-assertion-failure is off)';
  return `not retried: ${failure.kind} error`;
}

function describeRetryReason(failure: Failure): string {
  if (failure.kind === 'timeout') return 'timed out';
  if (failure.kind === 'connection') return 'connection failed';
  if (failure.kind === 'assertion' && failure.assertion === 'status')
    return `status ${failure.actual.split(' ')[0]} is retryable`;
  return 'retrying failed assertions';
}

function logBody(outcome: AttemptOutcome, say: (line: string) => void): void {
  const step = outcome.steps.find((candidate) => candidate.failure);
  if (step?.bodyExcerpt !== undefined && step.bodyExcerpt !== '')
    say(`  response body${outcome.failure?.step ? ` of step "${outcome.failure.step}"` : ''}: ${step.bodyExcerpt}`);
}

function describeAttempt(outcome: AttemptOutcome): string {
  return outcome.passed
    ? `passed in ${Math.round(outcome.latencyMs)} ms`
    : `failed: ${describeFailure(outcome.failure!)}`;
}

export function describeFailure(failure: Failure): string {
  const where = failure.step ? `step "${failure.step}": ` : '';
  if (failure.kind === 'assertion' || failure.kind === 'capture' || failure.kind === 'consecutive') {
    return `${where}${failure.assertion}: expected ${failure.expected}, actual ${failure.actual}`;
  }
  return `${where}${failure.actual}`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)}s`;
}

async function runAttempt(
  check: CheckPlan,
  suiteScope: TemplateScope,
  context: RunContext,
  budgetMs: number,
): Promise<AttemptOutcome> {
  const values = new Map<string, string>();
  const scope = new MapScope(values, context.env, suiteScope);
  const steps: StepOutcome[] = [];
  let latencyMs = 0;
  let requests = 0;
  try {
    for (const [name, template] of check.variables) values.set(name, renderTemplate(template, scope));
  } catch (error) {
    const failure: Failure = {
      kind: 'template',
      assertion: 'variables',
      expected: 'defined variables',
      actual: (error as Error).message,
    };
    return { passed: false, retryable: false, steps, failure, latencyMs, requests };
  }
  const attemptStarted = performance.now();
  for (const step of check.steps) {
    const remaining = budgetMs - (performance.now() - attemptStarted);
    const outcome = await runStep(
      step,
      scope,
      values,
      context,
      Math.max(1, Math.min(step.timeoutMs, remaining)),
      check,
    );
    steps.push(outcome.step);
    latencyMs += outcome.step.ms;
    requests += outcome.sent ? 1 : 0;
    if (outcome.step.failure) {
      return {
        passed: false,
        retryable: outcome.retryable,
        steps,
        failure: { ...outcome.step.failure, step: check.flow ? step.name : undefined },
        latencyMs,
        requests,
      };
    }
  }
  return { passed: true, retryable: false, steps, latencyMs, requests };
}

interface StepRun {
  step: StepOutcome;
  retryable: boolean;
  sent: boolean;
}

async function runStep(
  step: RequestPlan,
  scope: MapScope,
  captured: Map<string, string>,
  context: RunContext,
  timeoutMs: number,
  check: CheckPlan,
): Promise<StepRun> {
  const { redactor } = context;
  let url: string;
  let headers: Record<string, string>;
  let body: string | undefined;
  try {
    ({ url, headers, body } = renderRequest(step, scope, redactor));
  } catch (error) {
    const message = (error as Error).message;
    return {
      step: {
        step: step.name,
        request: `${step.method} ${redactor.url(step.url)}`,
        ms: 0,
        failedAssertions: 1,
        failure: { kind: 'template', assertion: 'request', expected: 'a request that can be built', actual: message },
      },
      retryable: false,
      sent: false,
    };
  }
  const shownRequest = `${step.method} ${redactor.url(url)}`;
  let response: HttpResponse;
  const started = performance.now();
  try {
    response = await httpRequest({
      method: step.method,
      url,
      headers,
      body,
      timeoutMs,
      followRedirects: step.followRedirects,
      maxRedirects: step.maxRedirects,
      secretHeaders: step.headers.filter((header) => header.secret).map((header) => header.name),
      tls: { ca: step.tls.ca, insecure: step.tls.insecure },
    });
  } catch (error) {
    const ms = performance.now() - started;
    if (!(error instanceof HttpRequestError)) throw error;
    const { kind } = error;
    const actual = redactor.redact(`${shownRequest}: ${error.message}`);
    return {
      step: {
        step: step.name,
        request: shownRequest,
        ms,
        failedAssertions: 1,
        failure: { kind, assertion: kind === 'timeout' ? 'timeout' : 'connection', expected: 'an HTTP answer', actual },
      },
      retryable: kind === 'timeout' || kind === 'connection',
      sent: true,
    };
  }
  for (const redirect of response.redirects) {
    if (redirect.dropped)
      context.log(
        redactor.redact(
          `  redirected to another origin (${redactor.url(redirect.location)}): secret header(s) ${redirect.dropped.join(', ')} not sent on`,
        ),
      );
  }
  const view = new ResponseView(response);
  // Captures first: a captured secret is masked before any assertion message or body excerpt can show it.
  const captureFailure = applyCaptures(step.captures, view, captured, redactor);
  const render = (value: unknown) => renderJson(value, scope);
  const results: AssertionResult[] = [];
  let renderError: string | undefined;
  for (const assertion of step.assertions) {
    try {
      const result = evaluateAssertion(assertion, view, render);
      if (result) results.push(result);
    } catch (error) {
      renderError = (error as Error).message;
      results.push({ label: assertion.label, passed: false, expected: '(could not be rendered)', actual: renderError });
    }
  }
  const failed = results.filter((result) => !result.passed);
  const first = failed[0];
  let failure: Failure | undefined;
  if (first)
    failure = {
      kind: 'assertion',
      assertion: first.label,
      expected: redactor.redact(first.expected),
      actual: redactor.redact(first.actual),
    };
  else if (captureFailure) failure = captureFailure;
  const outcome: StepOutcome = {
    step: step.name,
    request: shownRequest,
    status: response.status,
    ms: response.totalMs,
    failure,
    failedAssertions: failed.length + (captureFailure ? 1 : 0),
    bodyExcerpt: failure && !step.sensitive ? excerpt(view.text, response.bodyTruncated, redactor) : undefined,
  };
  if (failure && failed.length > 1)
    outcome.failure = {
      ...failure,
      actual: `${failure.actual} (and ${failed.length - 1} more failing assertion${failed.length === 2 ? '' : 's'})`,
    };
  const statusRetryable = first?.label === 'status' && check.retry.statuses.has(response.status);
  return { step: outcome, retryable: failure ? statusRetryable || check.retry.onAssertionFailure : false, sent: true };
}

function excerpt(text: string, truncated: boolean, redactor: Redactor): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const cut =
    flat.length > BODY_EXCERPT_CHARS
      ? `${flat.slice(0, BODY_EXCERPT_CHARS)}... (${flat.length - BODY_EXCERPT_CHARS} more characters)`
      : flat;
  return redactor.redact(truncated ? `${cut} (body truncated at the read limit)` : cut);
}

function renderRequest(
  step: RequestPlan,
  scope: MapScope,
  redactor: Redactor,
): { url: string; headers: Record<string, string>; body?: string } {
  const url = new URL(renderTemplate(step.url, scope));
  for (const [key, template] of step.query) url.searchParams.append(key, renderTemplate(template, scope));
  const headers: Record<string, string> = {};
  for (const header of step.headers) {
    if (header.secret) {
      const value = renderTemplate(header.value, scope, (_name, part) => redactor.add(part, 4));
      redactor.addHeaderValue(value);
      headers[header.name] = value;
    } else {
      headers[header.name] = renderTemplate(header.value, scope);
    }
  }
  const hasHeader = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name);
  let body: string | undefined;
  // Values from the environment that go into a request body are credentials more often than not.
  const maskEnv = (name: string, value: string) => {
    if (name.startsWith('env.')) redactor.add(value, 4);
  };
  if (step.body?.kind === 'json') {
    body = JSON.stringify(renderJson(step.body.value, scope, maskEnv));
    if (!hasHeader('content-type')) headers['content-type'] = 'application/json';
  } else if (step.body?.kind === 'text') {
    body = renderTemplate(step.body.value, scope, maskEnv);
  } else if (step.body?.kind === 'form') {
    body = new URLSearchParams(
      Object.entries(step.body.value).map(([key, value]): [string, string] => [
        key,
        renderTemplate(value, scope, maskEnv),
      ]),
    ).toString();
    if (!hasHeader('content-type')) headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  // Query values rendered from templates (or env) that are credentials: masked before anything shows the URL.
  redactor.addUrlCredentials(url.toString());
  return { url: url.toString(), headers, body };
}

function applyCaptures(
  captures: CaptureSpec[],
  view: ResponseView,
  values: Map<string, string>,
  redactor: Redactor,
): Failure | undefined {
  let failure: Failure | undefined;
  for (const capture of captures) {
    const value = extract(capture, view);
    if (value === undefined) {
      failure ??= {
        kind: 'capture',
        assertion: `capture ${capture.name}`,
        expected: `a value at ${capture.label}${capture.regex ? ` matching /${capture.regex.source}/` : ''}`,
        actual: '(nothing matched)',
      };
      continue;
    }
    if (capture.secret) redactor.add(value);
    values.set(capture.name, value);
  }
  return failure;
}

function extract(capture: CaptureSpec, view: ResponseView): string | undefined {
  let raw: string | undefined;
  if (capture.source === 'json') {
    const json = view.json();
    if (json.error) return undefined;
    const [found] = queryJsonPath(capture.path!, json.value);
    if (found === undefined) return undefined;
    raw = typeof found === 'string' ? found : JSON.stringify(found);
  } else if (capture.source === 'header') {
    raw = view.response.headers[capture.header!];
  } else {
    raw = view.text;
  }
  if (raw === undefined || !capture.regex) return raw;
  const match = capture.regex.exec(raw);
  if (!match) return undefined;
  return match[1] ?? match[0];
}
