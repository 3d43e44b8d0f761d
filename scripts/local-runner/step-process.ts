import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { lineSplitter } from '../../shared/process.js';
import type { Cancellation } from './cancellation.js';
import { createFileCommandFiles, maskLine, parseWorkflowCommand, readFileCommands } from './protocol.js';

/**
 * Runs one step's process the way the runner does: fresh file-command files, workflow commands
 * interpreted on the fly (masks, errors, groups), and the files read back afterwards.
 */
export interface StepProcessContext {
  runnerTemp: string;
  masks: Set<string>;
  log: (line: string) => void;
}

/**
 * How the runner stops a step it cancels (actions/runner, src/Runner.Sdk/ProcessInvoker.cs,
 * CancelAndKillProcessTree): SIGINT, up to 7.5 s to exit, then SIGTERM, up to 2.5 s, then kill.
 */
export const CANCEL_SIGNALS = [
  { signal: 'SIGINT', graceMs: 7500 },
  { signal: 'SIGTERM', graceMs: 2500 },
] as const;

/** After the step's process exits, how long its output may stay open (a background child holding it) before the step ends anyway, as the runner waits. */
const STREAMS_AFTER_EXIT_MS = 5000;

export interface StepProcessResult {
  exitCode: number;
  /** The step's process group: what the job kills when it ends (the runner's orphan clean-up). */
  processGroup?: number;
  /** Signals sent because the step was cancelled (in order), with when, ms after the step started. */
  signals: { signal: NodeJS.Signals; atMs: number }[];
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  addedPath: string[];
  summary: string;
  errors: string[];
}

export async function runStepProcess(
  context: StepProcessContext,
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; cancellation: Cancellation },
): Promise<StepProcessResult> {
  const files = createFileCommandFiles(path.join(context.runnerTemp, '_runner_file_commands'));
  const env: Record<string, string> = { ...options.env, ...files };

  const errors: string[] = [];
  let depth = 0;
  let folded = 0;
  const onLine = (raw: string) => {
    const command = parseWorkflowCommand(raw);
    if (command) {
      switch (command.command) {
        case 'add-mask':
          context.masks.add(command.message);
          return;
        case 'error':
          errors.push(command.message);
          context.log(`${'  '.repeat(depth)}Error: ${maskLine(command.message, context.masks)}`);
          return;
        case 'warning':
        case 'notice':
          context.log(
            `${'  '.repeat(depth)}${command.command === 'warning' ? 'Warning' : 'Notice'}: ${maskLine(command.message, context.masks)}`,
          );
          return;
        case 'group':
          context.log(`${'  '.repeat(depth)}▸ ${maskLine(command.message, context.masks)}`);
          depth++;
          return;
        case 'endgroup':
          if (depth > 0 && folded > 0)
            context.log(`${'  '.repeat(depth)}(${folded} line${folded === 1 ? '' : 's'} folded)`);
          folded = 0;
          depth = Math.max(0, depth - 1);
          return;
        case 'debug':
          return;
        default:
          break;
      }
    }
    // A group's lines are folded, as GitHub's log view shows them: counted, not printed.
    if (depth > 0) folded++;
    else context.log(`${'  '.repeat(depth)}${maskLine(raw, context.masks)}`);
  };

  const started = Date.now();
  const signals: StepProcessResult['signals'] = [];
  let processGroup: number | undefined;
  const exitCode = await new Promise<number>((resolve, reject) => {
    // Its own process group, so that the job can clean up what the step left running.
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    processGroup = child.pid;
    const split = (stream: NodeJS.ReadableStream) => {
      const lines = lineSplitter(onLine);
      stream.on('data', (chunk: Buffer) => lines.push(chunk));
      stream.on('end', () => lines.end());
    };
    split(child.stdout);
    split(child.stderr);
    let exited = false;
    const timers: NodeJS.Timeout[] = [];
    // Like the runner: the signal goes to the step's own process, not its process group.
    const stopListening = options.cancellation.onCancel(() => {
      let delay = 0;
      for (const { signal, graceMs } of CANCEL_SIGNALS) {
        timers.push(
          setTimeout(() => {
            if (exited) return;
            signals.push({ signal, atMs: Date.now() - started });
            child.kill(signal);
          }, delay),
        );
        delay += graceMs;
      }
      timers.push(
        setTimeout(() => {
          if (exited) return;
          signals.push({ signal: 'SIGKILL', atMs: Date.now() - started });
          child.kill('SIGKILL');
        }, delay),
      );
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      stopListening();
      timers.forEach(clearTimeout);
      resolve(code ?? (signal ? 128 + os.constants.signals[signal] : 1));
    };
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      exited = true;
      timers.push(
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(code, signal);
        }, STREAMS_AFTER_EXIT_MS),
      );
    });
    child.on('close', finish);
  });

  // GITHUB_STATE is read (and parsed) like the others, though no local step has a post step to use it.
  const { outputs, exportedEnv, addedPath, summary } = readFileCommands(files);
  return { exitCode, processGroup, signals, outputs, exportedEnv, addedPath, summary, errors };
}

/** Kills what is left of the given process groups (the runner cleans up a job's orphans when it ends). */
export function killProcessGroups(groups: Iterable<number>): void {
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // Already gone: nothing left to clean up.
    }
  }
}
