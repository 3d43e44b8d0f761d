import * as core from '@actions/core';
import { appendFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { cancellation, journal, type StopSignal } from './cancellation.js';
import { formatDuration } from './duration.js';
import { ActionError, errorMessage } from './errors.js';
import { codeSpanAddresses, summaryWanted } from './summary.js';

/**
 * The one way an action's entry point runs: known failures become a single clear `::error::` line
 * (plus a hint); anything unexpected also gets its stack in the debug log for a bug report. Every
 * failure leaves a job summary: the action's own when it wrote one, otherwise one saying what
 * failed, what the step had done and what it cleaned up.
 *
 * SIGINT, SIGTERM (what the runner sends on cancel and timeout) and SIGHUP stop the step: running
 * statements are cancelled and child programs stopped (cancellation.ts), the action's own error
 * handling then releases its locks and removes its partial files, and the step exits with 128 +
 * the signal's number. If that has not finished within CANCEL_GRACE_MS (the runner sends SIGTERM
 * 7.5 s after SIGINT), or a second signal arrives, partial files are removed and the step exits
 * at once; its sessions end with the process, and the server notices within
 * client_connection_check_interval (connection.ts).
 */
export const CANCEL_GRACE_MS = 5000;
const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function runAction(main: () => Promise<void>, action: string): Promise<void> {
  const summaryAtStart = summarySize();
  let finished = false;
  const onSignal = (signal: StopSignal) => {
    if (finished) return;
    if (cancellation.cancelled) {
      core.info(`Received ${signal} again: exiting now.`);
      exitNow(action, summaryAtStart);
      return;
    }
    core.info(
      `Received ${signal} (the job was cancelled or timed out): stopping running statements and programs, then cleaning up...`,
    );
    setTimeout(() => {
      core.info(`Cleaning up took longer than ${formatDuration(CANCEL_GRACE_MS)}: exiting now.`);
      exitNow(action, summaryAtStart);
    }, CANCEL_GRACE_MS);
    void cancellation.cancel(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  try {
    await main();
    if (cancellation.cancelled) {
      // Signalled when the work was already done: say so, and still end as a stopped step.
      reportFailure(
        action,
        new ActionError('The step had finished its work when the signal arrived; nothing was stopped.'),
        summaryAtStart,
      );
    }
  } catch (error) {
    reportFailure(action, error, summaryAtStart);
  } finally {
    finished = true;
  }
  if (cancellation.cancelled) process.exit(exitCodeOf(cancellation.reason!));
}

function exitCodeOf(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

function summarySize(): number {
  const file = process.env.GITHUB_STEP_SUMMARY;
  try {
    return file ? statSync(file).size : 0;
  } catch {
    return 0;
  }
}

function failureMessage(error: unknown): string {
  if (error instanceof ActionError) return error.hint ? `${error.message}\nHint: ${error.hint}` : error.message;
  if (error instanceof Error && error.stack) core.debug(error.stack);
  return `Unexpected error: ${errorMessage(error)}`;
}

function reportFailure(action: string, error: unknown, summaryAtStart: number): void {
  cancellation.removePartialFiles();
  const message = cancellation.cancelled
    ? `Cancelled by ${cancellation.reason} (the job was cancelled or timed out). ${failureMessage(error)}`
    : failureMessage(error);
  for (const line of journal.cleaned) core.info(`Cleanup: ${line}.`);
  core.setFailed(message);
  appendSummary(failureSummary(action, message, summaryAtStart));
}

/** summaryWanted, where a bad job-summary value (the failure being reported, perhaps) means "write it". */
function summaryWantedOnFailure(): boolean {
  try {
    return summaryWanted();
  } catch {
    return true;
  }
}

/** Exit without waiting for the action's own error handling: the grace period is over. */
function exitNow(action: string, summaryAtStart: number): never {
  reportFailure(
    action,
    new ActionError('The step did not finish cleaning up in time; its database sessions end with this process.'),
    summaryAtStart,
  );
  process.exit(exitCodeOf(cancellation.reason ?? 'SIGTERM'));
}

/**
 * The failure's section of the job summary: all of it when the action wrote none, only the
 * cancellation when it already described its own failure.
 */
export function failureSummary(action: string, message: string, summaryAtStart: number): string {
  const ownSummary = summarySize() > summaryAtStart;
  if (ownSummary && !cancellation.cancelled) return '';
  const [first, ...rest] = codeSpanAddresses(message).split('\n');
  const parts: string[] = [];
  if (cancellation.cancelled) {
    const after = cancellation.at ? ` ${formatDuration(Date.now() - cancellation.at)} after the signal` : '';
    parts.push(`${ownSummary ? '\n### ' : '## '}${action} cancelled (${cancellation.reason})\n\n${first}\n`);
    parts.push(`\nStopped${after}.\n`);
  } else {
    parts.push(`## ${action} failed\n\n${first}\n`);
  }
  if (rest.length) parts.push(`\n${rest.map((line) => `> ${line}`).join('\n')}\n`);
  if (journal.done.length && !ownSummary)
    parts.push(
      `\n**Done before it stopped:**\n\n${journal.done.map((line) => `- ${codeSpanAddresses(line)}`).join('\n')}\n`,
    );
  if (journal.cleaned.length)
    parts.push(`\n**Cleaned up:**\n\n${journal.cleaned.map((line) => `- ${codeSpanAddresses(line)}`).join('\n')}\n`);
  return parts.join('');
}

function appendSummary(markdown: string): void {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file || !markdown || !summaryWantedOnFailure()) return;
  // Synchronously: on a forced exit there is no later tick to finish an asynchronous write.
  appendFileSync(file, markdown);
}
