import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { LOCAL_ARTIFACTS_ENV } from '../scripts/local-runner/builtin-actions.js';
import { timeline } from '../scripts/local-runner/timeline.js';
import type { Json } from '../scripts/local-runner/expressions.js';
import { runWorkflow } from '../scripts/local-runner/runner.js';
import type { GateRequest, JobRun, WorkflowRun } from '../scripts/local-runner/types.js';
import { LOCAL_BACKUP_DIR_ENV } from '../shared/backup/local-dir.js';
import { LOCAL_RUN_ENV } from '../shared/github/run-reference.js';
import { EXIT } from './args.js';
import { apiUrlOf, probeGitHub, type GitHubReach } from './github.js';
import type { Settings } from './settings.js';
import { SUITE_REPOSITORY, suiteCommit, suiteVersion } from './suite.js';

/**
 * rollback and drill: the suite's own workflow file run by the local runner on this machine, with
 * the bundled actions of this package, the app's local clone, and the operator's secrets and
 * variables. The environment gate is a question at the terminal showing the plan; everything
 * printed and written goes through the secrets' mask first.
 */
export interface WorkflowCommand {
  workflow: 'rollback.yml' | 'rollback-drill.yml';
  inputs: Record<string, Json>;
  /** The environment whose gate asks the operator (jobs in other environments, e.g. <env>-plan, have no reviewers). */
  environment: string;
  appDir: string;
  repository: string;
  suite: string;
  recordDir: string;
  /** backup-db's destination: no artifact service from a terminal (ROLLBACK_BACKUP_DIR for the steps). */
  backupDir: string;
  yes: boolean;
  settings: Settings;
  print: (line: string) => void;
}

/** What the operator must see before approving: the plan job's summary (compute's plan, the down SQL). */
function planText(done: Record<string, JobRun>): string {
  return Object.values(done)
    .map((job) => job.summary.trim())
    .filter(Boolean)
    .join('\n\n');
}

async function askAtTerminal(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await terminal.question(question);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    terminal.close();
  }
}

type GateDecision = 'approved' | 'approved with --yes' | 'refused' | 'refused: no terminal to ask and no --yes';

/** The record's "Release history" row: where the plan read the releases from, and why. */
export function historyLine(plan: JobRun | undefined, reach: GitHubReach): string {
  const target = plan?.steps.find((step) => step.id === 'target');
  const source = target?.outputs['history-source'];
  if (source === 'ledger')
    return reach.reachable
      ? 'the deployment ledger (GitHub answered when the command started, but not when the plan read the history: the plan below says why)'
      : `the deployment ledger (GitHub not used: ${reach.reason})`;
  if (source === 'github') return `GitHub's deployments (${reach.apiUrl})`;
  return `not read (the plan did not get that far; GitHub: ${reach.reachable ? 'reachable' : reach.reason})`;
}

/**
 * Where the rollback's deploy is recorded. GitHub lost during the run is no reason to stop a
 * rollback, and the record cannot be read from anywhere else: the ledger keeps it, and `sync` makes
 * it a GitHub deployment later. `after` is GitHub asked again once the run ended.
 */
function deploymentLine(
  run: WorkflowRun,
  reach: GitHubReach,
  after: GitHubReach | undefined,
  ledger: string,
): string | undefined {
  const redeploy = run.jobs.rollback?.steps.find((step) => step.id === 'redeploy');
  if (!redeploy || redeploy.outcome === 'skipped') return undefined;
  const id = redeploy.outputs['deployment-id'];
  if (id) return `GitHub deployment ${id}`;
  const queued = `in the deployment ledger ${ledger || '(no ROLLBACK_LEDGER!)'} only, for \`rollback-actions sync\``;
  if (!reach.reachable) return `${queued} (GitHub not used)`;
  return `${queued}: GitHub was lost during the run (${after && !after.reachable ? `at its end: ${after.reason}` : 'it answers again now'})`;
}

/** compute's latest-backup output (a ledger backup entry as JSON) in one line. */
function describeBackup(json: string): string {
  const backup = JSON.parse(json) as {
    time?: string;
    appVersion?: string;
    schemaVersion?: string;
    checksum?: string;
    location?: string;
  };
  return `${backup.time} (${backup.appVersion ?? 'version unknown'}, schema ${backup.schemaVersion ?? '?'}): ${backup.location} ${backup.checksum ?? ''}`.trim();
}

function incidentRecord(
  command: WorkflowCommand,
  run: WorkflowRun,
  reach: GitHubReach,
  after: GitHubReach | undefined,
  gate: GateDecision | undefined,
  version: string,
): string {
  const deployment = deploymentLine(run, reach, after, command.settings.vars.ROLLBACK_LEDGER ?? '');
  // The job whose compute step (id "target") read the history: rollback.yml's plan, the drill's database job.
  const plan = run.jobs.plan ?? run.jobs.database;
  const target = plan?.steps.find((step) => step.id === 'target')?.outputs ?? {};
  const restoredFrom = run.jobs.rollback?.steps.find((step) => step.id === 'restore')?.outputs['backup-source'];
  const lines = [
    `# ${run.runName ?? run.name}`,
    '',
    `| | |`,
    `| --- | --- |`,
    `| Run from | a terminal on ${os.hostname()}, rollback-actions ${version} (${command.workflow} through the local runner) |`,
    `| Repository | ${command.repository} (${command.appDir}) |`,
    `| Release history | ${historyLine(plan, reach)} |`,
    ...(target['latest-backup'] ? [`| Latest backup (ledger) | ${describeBackup(target['latest-backup'])} |`] : []),
    ...(restoredFrom ? [`| Database restored from | ${restoredFrom} |`] : []),
    ...(deployment ? [`| Rollback recorded | ${deployment} |`] : []),
    `| Environment gate | ${gate ?? 'not reached'} |`,
    `| Conclusion | ${run.conclusion}${run.startupFailure ? `: ${run.startupFailure}` : ''} |`,
    '',
  ];
  const report = run.jobs.report?.summary.trim();
  if (report) lines.push(report, '');
  if (plan?.summary.trim()) lines.push('## The plan', '', plan.summary.trim(), '');
  return lines.join('\n');
}

/** What the reports say instead of a link to a run page on GitHub. */
export function localRunReference(startedAt: Date, recordFolder: string): string {
  return `local run on ${os.hostname()} at ${startedAt.toISOString()}, record ${recordFolder}`;
}

export async function runWorkflowCommand(command: WorkflowCommand): Promise<number> {
  const { settings, print } = command;
  const say = (line: string) => print(settings.mask(line));
  const version = suiteVersion(command.suite);
  const reach = await probeGitHub(apiUrlOf(settings.processEnv), command.repository, settings.secrets.GITHUB_TOKEN);
  const secrets = { ...settings.secrets };
  if (reach.reachable)
    say(`GitHub: ${reach.reason}; the release history comes from its deployments, and the rollback is recorded there.`);
  else {
    // No token reaches the steps: compute-rollback-target reads the ledger, redeploy-tag records there only.
    delete secrets.GITHUB_TOKEN;
    say(
      `GitHub: not used (${reach.reason}); the release history comes from the deployment ledger ${settings.vars.ROLLBACK_LEDGER || '(vars.ROLLBACK_LEDGER is not set!)'}.`,
    );
  }
  const vars = { ...settings.vars };
  if (!vars.ROLLBACK_IMAGE_ONLY_BACKUP) {
    // An image-only rollback leaves the database alone: in an incident from a terminal its backup alongside only costs time on this machine.
    vars.ROLLBACK_IMAGE_ONLY_BACKUP = 'skip';
    say(
      'Image-only rollbacks skip the backup alongside (set ROLLBACK_VAR_ROLLBACK_IMAGE_ONLY_BACKUP=alongside to take it into the backup dir).',
    );
  }

  let gate: GateDecision | undefined;
  const environmentGate = async (request: GateRequest): Promise<boolean> => {
    if (request.environment !== command.environment) return true;
    say(`\n=== Environment gate: ${request.environment} (job "${request.jobName}") ===`);
    for (const line of planText(request.done).split('\n')) say(line);
    if (command.yes) gate = 'approved with --yes';
    else if (!process.stdin.isTTY) gate = 'refused: no terminal to ask and no --yes';
    else
      gate = (await askAtTerminal(`Approve "${request.jobName}" in ${request.environment}? [y/N] `))
        ? 'approved'
        : 'refused';
    say(`Environment gate: ${gate}.`);
    return gate.startsWith('approved');
  };

  const startedAt = new Date();
  const runId = startedAt.getTime() % 1_000_000_000;
  const folder = path.join(
    command.recordDir,
    `${startedAt.toISOString().replace(/[:.]/g, '-')}-${command.environment}-${runId}`,
  );
  mkdirSync(command.backupDir, { recursive: true, mode: 0o700 });
  say(`Backups: kept in ${command.backupDir} (no artifact service from a terminal).`);
  const runRoot = mkdtempSync(path.join(os.tmpdir(), 'rollback-actions-run-'));
  const log: string[] = [];
  let run: WorkflowRun;
  try {
    run = await runWorkflow({
      workflowPath: path.join(command.suite, '.github', 'workflows', command.workflow),
      workflowRepository: { name: SUITE_REPOSITORY, dir: command.suite },
      repository: command.repository,
      eventName: 'workflow_dispatch',
      inputs: command.inputs,
      runId,
      secrets,
      vars,
      env: {
        ...settings.processEnv,
        GITHUB_API_URL: reach.apiUrl,
        // The reports' "Run:" line: this run has no page on GitHub.
        [LOCAL_RUN_ENV]: localRunReference(startedAt, folder),
        [LOCAL_BACKUP_DIR_ENV]: command.backupDir,
        // upload-artifact's files (the drill's matrix) go into the record.
        [LOCAL_ARTIFACTS_ENV]: path.join(folder, 'artifacts'),
      },
      environmentGate,
      // The drill's throwaway database (services:) is whatever image the engine here has by that name (vars.DRILL_POSTGRES_IMAGE).
      serviceImagesAsNamed: true,
      repositories: {
        [command.repository]: { dir: command.appDir, checkout: 'clone' },
        [SUITE_REPOSITORY]: {
          dir: command.suite,
          checkout: 'link',
          linkEntries: ['actions', 'dist', '.github'],
          sha: await suiteCommit(command.suite),
        },
      },
      runRoot,
      log: (line) => {
        log.push(settings.mask(line));
        say(line);
      },
    });
  } finally {
    rmSync(runRoot, { recursive: true, force: true });
  }

  // GitHub answered at the start: is it still there? (A deployment it did not take waits for sync.)
  const after = reach.reachable
    ? await probeGitHub(reach.apiUrl, command.repository, settings.secrets.GITHUB_TOKEN)
    : undefined;
  if (after && !after.reachable)
    say(
      `GitHub: lost during the run (${after.reason}); what it did not take is in the deployment ledger: run \`rollback-actions sync\` when it answers.`,
    );
  mkdirSync(folder, { recursive: true });
  const files: Record<string, string> = {
    'incident-record.md': incidentRecord(command, run, reach, after, gate, version),
    'timeline.txt': `${timeline(run, run.startedAt).join('\n')}\n`,
    'log.txt': `${log.join('\n')}\n`,
    'run.json': `${JSON.stringify(run, null, 2)}\n`,
  };
  for (const [name, text] of Object.entries(files))
    writeFileSync(path.join(folder, name), settings.mask(text), { mode: 0o600 });
  say('\n=== Timeline (seconds from the start) ===');
  for (const line of files['timeline.txt'].trimEnd().split('\n')) say(line);
  say(`\nIncident record, timeline and log: ${folder}`);
  if (gate?.startsWith('refused')) {
    say(
      `rollback-actions: refused at the ${command.environment} gate; nothing was changed after the plan (exit ${EXIT.refused}).`,
    );
    return EXIT.refused;
  }
  if (run.conclusion !== 'success') {
    say(
      `rollback-actions: the workflow ${run.conclusion === 'cancelled' ? 'was cancelled' : 'failed'} (exit ${EXIT.workflowFailed}).`,
    );
    return EXIT.workflowFailed;
  }
  say(`rollback-actions: ${run.runName ?? run.name}: ${run.jobs.report?.outputs.outcome ?? 'success'}.`);
  return EXIT.ok;
}
