import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatDuration } from '../../shared/duration.js';
import { code, details, keyValueTable, markdownTable } from '../../shared/summary.js';
import type { Redactor } from './redact.js';
import { describeFailure, type CheckResult, type RunResult } from './runner.js';

/**
 * What the run leaves behind: the failed-checks and per-check outputs, the job summary and the JUnit
 * report. All of it passes through the redactor: these are files, not the masked log.
 */

export interface FailedCheck {
  check: string;
  step?: string;
  attempts: number;
  kind: string;
  assertion: string;
  expected: string;
  actual: string;
  message: string;
}

export function failedChecks(run: RunResult, redactor: Redactor): FailedCheck[] {
  return redactor.json(
    run.checks
      .filter((check) => !check.passed)
      .map((check) => ({
        check: check.name,
        ...(check.failure?.step ? { step: check.failure.step } : {}),
        attempts: check.attempts,
        kind: check.failure?.kind ?? 'assertion',
        assertion: check.failure?.assertion ?? '',
        expected: check.failure?.expected ?? '',
        actual: check.failure?.actual ?? '',
        message: check.failure
          ? `${describeFailure(check.failure)}${check.note ? ` (${check.note})` : ''}`
          : (check.note ?? 'failed'),
      })),
  );
}

export function checkTimings(
  run: RunResult,
  redactor: Redactor,
): { check: string; passed: boolean; attempts: number; 'latency-ms': number; 'duration-ms': number }[] {
  return redactor.json(
    run.checks.map((check) => ({
      check: check.name,
      passed: check.passed,
      attempts: check.attempts,
      'latency-ms': Math.round(check.latencyMs),
      'duration-ms': Math.round(check.durationMs),
    })),
  );
}

export function summaryMarkdown(
  run: RunResult,
  context: { suite: string; reportPath: string; deadlineMs: number; baseUrl?: string },
  redactor: Redactor,
): string {
  const failed = run.checks.filter((check) => !check.passed).length;
  const heading = run.passed
    ? `### ✅ Smoke test passed: ${run.checks.length} of ${run.checks.length} checks`
    : `### ❌ Smoke test failed: ${failed} of ${run.checks.length} checks failed`;
  // What failed comes right under the verdict; every check and the run's facts are folded below it.
  const failedRows = run.checks
    .filter((check) => !check.passed)
    .map((check) => [
      code(check.name),
      check.failure?.step ? code(check.failure.step) : '',
      check.failure?.assertion ?? '',
      check.failure?.expected ?? '',
      check.failure ? `${check.failure.actual}${check.note ? ` (${check.note})` : ''}` : '',
      check.attempts,
    ]);
  const allRows = run.checks.map((check) => [
    code(check.name),
    check.passed ? '✅ passed' : '❌ failed',
    check.attempts,
    formatDuration(check.latencyMs),
  ]);
  const facts = keyValueTable([
    ['Suite', code(context.suite)],
    ['Base URL', context.baseUrl ? code(redactor.url(context.baseUrl)) : undefined],
    ['Duration', formatDuration(run.durationMs)],
    ['Deadline', formatDuration(context.deadlineMs)],
    ['Attempts / requests', `${run.attempts} / ${run.requests}`],
    ['JUnit report', code(context.reportPath)],
  ]);
  const markdown = [
    heading,
    '',
    failedRows.length > 0
      ? markdownTable(['Failed check', 'Step', 'Assertion', 'Expected', 'Actual', 'Attempts'], failedRows)
      : '',
    details(`All ${run.checks.length} checks`, markdownTable(['Check', 'Status', 'Attempts', 'Latency'], allRows)),
    details('Run details', facts),
  ].join('\n');
  return redactor.redact(markdown);
}

export function defaultJunitPath(): string {
  return path.join(process.env.RUNNER_TEMP ?? os.tmpdir(), 'smoke-test-junit.xml');
}

export function resolveJunitPath(junitPath: string | undefined, workspace: string): string {
  if (!junitPath) return defaultJunitPath();
  return path.resolve(workspace, junitPath);
}

// XML 1.0 allows neither most control characters nor lone surrogates; response text can hold both.
const INVALID_XML =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function xmlEscape(text: string): string {
  return text
    .replace(INVALID_XML, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function testCase(check: CheckResult, suiteName: string, redactor: Redactor): string {
  // Redacted before escaping: a secret holding & or < would no longer match once escaped.
  const xmlEscapeRedacted = (text: string) => xmlEscape(redactor.redact(text));
  const time = (check.durationMs / 1000).toFixed(3);
  const attributes = `name="${xmlEscapeRedacted(check.name)}" classname="${xmlEscapeRedacted(suiteName)}" time="${time}"`;
  const out = check.log.join('\n');
  const parts: string[] = [];
  if (!check.passed && check.failure) {
    const message = `${describeFailure(check.failure)}${check.note ? ` (${check.note})` : ''}`;
    const details = [
      `check: ${check.name}`,
      check.failure.step ? `step: ${check.failure.step}` : undefined,
      `assertion: ${check.failure.assertion}`,
      `expected: ${check.failure.expected}`,
      `actual: ${check.failure.actual}`,
      `attempts: ${check.attempts}`,
      check.note ? `stopped: ${check.note}` : undefined,
      check.bodyExcerpt ? `response body: ${check.bodyExcerpt}` : undefined,
    ].filter((line) => line !== undefined);
    const type =
      check.failure.kind === 'assertion' || check.failure.kind === 'consecutive' || check.failure.kind === 'capture'
        ? 'AssertionFailure'
        : `${check.failure.kind[0].toUpperCase()}${check.failure.kind.slice(1)}Error`;
    parts.push(
      `      <failure message="${xmlEscapeRedacted(message)}" type="${type}">${xmlEscapeRedacted(details.join('\n'))}</failure>`,
    );
  }
  if (out) parts.push(`      <system-out>${xmlEscapeRedacted(out)}</system-out>`);
  return parts.length === 0
    ? `    <testcase ${attributes}/>`
    : `    <testcase ${attributes}>\n${parts.join('\n')}\n    </testcase>`;
}

export function junitXml(run: RunResult, suiteName: string, redactor: Redactor, now: Date = new Date()): string {
  const failures = run.checks.filter((check) => !check.passed).length;
  const time = (run.durationMs / 1000).toFixed(3);
  const counts = `tests="${run.checks.length}" failures="${failures}" errors="0" skipped="0" time="${time}"`;
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(suiteName)}" ${counts}>`,
    `  <testsuite name="${xmlEscape(suiteName)}" ${counts} timestamp="${now.toISOString().replace(/\.\d+Z$/, '')}" hostname="${xmlEscape(os.hostname())}">`,
    ...run.checks.map((check) => testCase(check, suiteName, redactor)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
  return redactor.redact(xml);
}

export function writeJunit(file: string, xml: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, xml);
}
