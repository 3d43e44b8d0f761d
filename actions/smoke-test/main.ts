import { performance } from 'node:perf_hooks';
import * as core from '@actions/core';
import { formatDuration } from '../../shared/duration.js';
import { ActionError } from '../../shared/errors.js';
import { appendLedgerOrWarn } from '../../shared/ledger/on-host.js';
import { emitEvent } from '../../shared/events.js';
import { setOutputs } from '../../shared/outputs.js';
import { recordDeploymentOutcome } from '../../shared/github/deployment-outcome.js';
import { writeSummary } from '../../shared/summary.js';
import { readSmokeInputs } from './inputs.js';
import { planFromInputs } from './plan.js';
import { Redactor } from './redact.js';
import { checkTimings, failedChecks, junitXml, resolveJunitPath, summaryMarkdown, writeJunit } from './report.js';
import { describeFailure, runSuite } from './runner.js';
import { formatProblem, parseSuite, readSuiteSource, SuiteError, type ParsedSuite } from './suite-load.js';

export async function run(): Promise<void> {
  const inputs = readSmokeInputs();
  const redactor = new Redactor();
  for (const [name, value] of Object.entries(inputs.headers))
    if (inputs.secretHeaders.has(name.toLowerCase())) redactor.addHeaderValue(value);
  redactor.addUrlCredentials(inputs.url);
  redactor.addUrlCredentials(inputs.baseUrl);
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();

  // Everything is validated before the first request: a suite with a typo fails in milliseconds.
  let parsed: ParsedSuite | undefined;
  let plan;
  try {
    if (inputs.suite) parsed = parseSuite(readSuiteSource(inputs.suite, workspace));
    plan = planFromInputs({ inputs, workspace, env: process.env }, parsed);
  } catch (error) {
    if (error instanceof SuiteError) annotate(error);
    throw error;
  }
  const reportPath = resolveJunitPath(inputs.junitPath, workspace);
  const { baseUrl } = plan;
  redactor.addUrlCredentials(parsed?.suite['base-url']);
  for (const check of plan.checks) for (const step of check.steps) redactor.addUrlCredentials(step.url);

  core.info(
    redactor.redact(
      `Smoke test: ${plan.checks.length} check${plan.checks.length === 1 ? '' : 's'}${plan.source ? ` from ${plan.source}` : ''}${baseUrl ? ` against ${redactor.url(baseUrl)}` : ''}; ` +
        `deadline ${formatDuration(inputs.deadlineMs)}${inputs.expectedVersion ? `; expecting version ${inputs.expectedVersion}` : ''}`,
    ),
  );
  const started = performance.now();
  const result = await runSuite(plan, {
    deadlineAt: started + inputs.deadlineMs,
    redactor,
    env: process.env,
    log: (line) => core.info(line),
    startGroup: (name) => core.startGroup(name),
    endGroup: () => core.endGroup(),
  });

  writeJunit(reportPath, junitXml(result, plan.name, redactor));
  const failed = failedChecks(result, redactor);
  setOutputs({
    passed: result.passed,
    'failed-checks': failed,
    attempts: result.attempts,
    requests: result.requests,
    checks: checkTimings(result, redactor),
    'report-path': reportPath,
    'duration-ms': Math.round(result.durationMs),
  });
  await writeSummary(
    summaryMarkdown(
      result,
      {
        suite: plan.source ?? (inputs.url ? 'url input' : 'inline'),
        reportPath,
        deadlineMs: inputs.deadlineMs,
        baseUrl,
      },
      redactor,
    ),
  );
  emitEvent('smoke_test_result', {
    passed: result.passed,
    checks: result.checks.length,
    failed: failed.length,
    attempts: result.attempts,
    duration_ms: Math.round(result.durationMs),
    expected_version: inputs.expectedVersion,
  });
  const recorded = inputs.deployment
    ? await recordDeploymentOutcome({
        token: inputs.deployment.token,
        deploymentId: inputs.deployment.id,
        environment: inputs.deployment.environment,
        environmentUrl: inputs.deployment.environmentUrl,
        success: result.passed,
        description: result.passed
          ? `Smoke tests passed (${result.checks.length} checks)`
          : `Smoke tests failed: ${failed.length} of ${result.checks.length} checks`,
      })
    : undefined;

  // The verdict as a ledger line on the deploy host; a ledger that cannot be written is a warning, the verdict stands.
  if (inputs.ledger)
    await appendLedgerOrWarn(inputs.ledger, {
      type: 'smoke',
      environment: inputs.ledger.environment,
      tag: inputs.ledger.tag,
      result: result.passed ? 'pass' : 'fail',
      checks: result.checks.length,
      failed: failed.length,
      githubDeploymentId: inputs.deployment?.id,
      // GitHub did not take the verdict (down since the redeploy): `rollback-actions sync` writes it.
      ...(inputs.deployment !== undefined && recorded === undefined ? { githubStatusPending: true as const } : {}),
    });

  if (result.passed) {
    core.info(
      `All ${result.checks.length} smoke checks passed in ${formatDuration(result.durationMs)} (${result.attempts} attempts, ${result.requests} requests).`,
    );
    return;
  }
  const lines = result.checks
    .filter((check) => !check.passed)
    .map(
      (check) =>
        `- ${check.name} (${check.attempts} attempt${check.attempts === 1 ? '' : 's'}): ${check.failure ? describeFailure(check.failure) : 'failed'}`,
    );
  const message = redactor.redact(
    `${failed.length} of ${result.checks.length} smoke checks failed:\n${lines.join('\n')}`,
  );
  if (inputs.failOnError) throw new ActionError(message, { hint: `JUnit report: ${reportPath}` });
  core.warning(`${message}\n(fail-on-error is false: the step succeeds; branch on the "passed" output.)`);
}

/** One annotation per problem, on the suite file's line, so the PR view points at it. */
function annotate(error: SuiteError): void {
  if (!error.source.file) return;
  for (const problem of error.problems) {
    core.error(formatProblem(error.source, problem), {
      title: 'smoke suite',
      file: error.source.displayName,
      startLine: problem.line,
      startColumn: problem.column,
    });
  }
}
