import { spawn } from 'node:child_process';
import path from 'node:path';
import { lineSplitter } from '../../shared/process.js';
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

export interface StepProcessResult {
  exitCode: number;
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
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<StepProcessResult> {
  const files = createFileCommandFiles(path.join(context.runnerTemp, '_runner_file_commands'));
  const env: Record<string, string> = { ...options.env, ...files };

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

  // GITHUB_STATE is read (and parsed) like the others, though no local step has a post step to use it.
  const { outputs, exportedEnv, addedPath, summary } = readFileCommands(files);
  return { exitCode, outputs, exportedEnv, addedPath, summary, errors };
}
