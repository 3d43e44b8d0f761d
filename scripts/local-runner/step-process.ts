import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lineSplitter } from '../../shared/process.js';
import { maskLine, parseFileCommand, parseWorkflowCommand } from './protocol.js';

/**
 * Runs one step's process the way the runner does: fresh file-command files, workflow commands
 * interpreted on the fly (masks, errors, groups), and the files read back afterwards.
 */
export interface StepProcessContext {
  runnerTemp: string;
  masks: Set<string>;
  log: (line: string) => void;
}

export interface StepProcessResult {
  exitCode: number;
  outputs: Record<string, string>;
  exportedEnv: Record<string, string>;
  addedPath: string[];
  state: Record<string, string>;
  summary: string;
  errors: string[];
}

export async function runStepProcess(
  context: StepProcessContext,
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number; state?: Record<string, string> },
): Promise<StepProcessResult> {
  const dir = path.join(context.runnerTemp, '_runner_file_commands');
  mkdirSync(dir, { recursive: true });
  const files = {
    GITHUB_OUTPUT: path.join(dir, `set_output_${randomUUID()}`),
    GITHUB_ENV: path.join(dir, `set_env_${randomUUID()}`),
    GITHUB_PATH: path.join(dir, `add_path_${randomUUID()}`),
    GITHUB_STATE: path.join(dir, `save_state_${randomUUID()}`),
    GITHUB_STEP_SUMMARY: path.join(dir, `step_summary_${randomUUID()}`),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  const env: Record<string, string> = { ...options.env, ...files };
  for (const [name, value] of Object.entries(options.state ?? {})) env[`STATE_${name}`] = value;

  const errors: string[] = [];
  let depth = 0;
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
          context.log(`${'  '.repeat(depth)}${command.command === 'warning' ? 'Warning' : 'Notice'}: ${maskLine(command.message, context.masks)}`);
          return;
        case 'group':
          context.log(`${'  '.repeat(depth)}▸ ${maskLine(command.message, context.masks)}`);
          depth++;
          return;
        case 'endgroup':
          depth = Math.max(0, depth - 1);
          return;
        case 'debug':
          return;
        default:
          break;
      }
    }
    context.log(`${'  '.repeat(depth)}${maskLine(raw, context.masks)}`);
  };

  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const split = (stream: NodeJS.ReadableStream) => {
      const lines = lineSplitter(onLine);
      stream.on('data', (chunk: Buffer) => lines.push(chunk));
      stream.on('end', () => lines.end());
    };
    split(child.stdout);
    split(child.stderr);
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve(code ?? 1);
    });
  });

  return {
    exitCode,
    outputs: parseFileCommand(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    exportedEnv: parseFileCommand(readFileSync(files.GITHUB_ENV, 'utf8')),
    addedPath: readFileSync(files.GITHUB_PATH, 'utf8').split('\n').filter(Boolean),
    state: parseFileCommand(readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    errors,
  };
}

export function appendSummary(file: string, text: string): void {
  if (text) appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}
