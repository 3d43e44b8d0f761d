import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { cancellation, CancelledError, journal } from './cancellation.js';
import { ActionError } from './errors.js';

/**
 * Runs programs with an argument array and no shell, ever: a tag like `v1; rm -rf /` stays one inert
 * argument. Every external program this suite runs goes through here.
 */

export interface RunOptions {
  cwd?: string;
  /** Merged over process.env (set a key to undefined to remove it). */
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Exit codes that count as success; default [0]. */
  okExitCodes?: readonly number[];
  /** Called per complete line, for progress logging of long-running commands. */
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Streams stdout here instead of buffering it (dumps of many gigabytes). */
  stdoutTo?: Writable;
  /** Bytes of each stream kept in the result; the tail is kept. Default 8 MiB. */
  maxCapture?: number;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export class ProcessError extends ActionError {
  readonly result: RunResult;
  readonly command: string;
  constructor(command: string, result: RunResult, reason: string) {
    const detail = lastLines(result.stderr || result.stdout, 15);
    super(`${command} ${reason}${detail ? `:\n${detail}` : '.'}`);
    this.name = 'ProcessError';
    this.result = result;
    this.command = command;
  }
}

export function lastLines(text: string, count: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-count).join('\n');
}

/** How long a child stopped on cancellation gets to exit after SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 2000;

/** Shows a command for logs; quoting is for the reader only, the command never passes through a shell. */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : `'${part.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

/** Calls onLine for each complete line of a byte stream (CRLF too), and the unterminated rest at the end. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer): void; end(): void } {
  let pending = '';
  return {
    push(chunk) {
      pending += chunk.toString('utf8');
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        onLine(pending.slice(0, newline).replace(/\r$/, ''));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    },
    end() {
      if (pending !== '') onLine(pending);
      pending = '';
    },
  };
}

export async function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const started = Date.now();
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, ...options.env })) {
    if (value !== undefined) env[key] = value;
  }
  const limit = options.maxCapture ?? 8 * 1024 * 1024;
  const stdout = new TailBuffer(limit);
  const stderr = new TailBuffer(limit);
  const display = formatCommand(command, args);

  // A cancelled step starts nothing new: the restore after a failed redeploy, the next tool of a backup.
  cancellation.throwIfCancelled(`${path.basename(command)} was not started`);
  return await new Promise<RunResult>((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env, shell: false, stdio: ['pipe', 'pipe', 'pipe'] });
    let stoppedByCancel = false;
    let killTimer: NodeJS.Timeout | undefined;
    const unregister = cancellation.onCancel(() => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      stoppedByCancel = true;
      child.kill('SIGTERM');
      journal.cleanup(`stopped ${path.basename(command)} (pid ${child.pid}) with SIGTERM`);
      killTimer = setTimeout(() => {
        child.kill('SIGKILL');
        journal.cleanup(
          `killed ${path.basename(command)} (pid ${child.pid}): it did not exit within ${STOP_GRACE_MS / 1000}s of SIGTERM`,
        );
      }, STOP_GRACE_MS);
    });
    const stdoutLines = options.onStdoutLine ? lineSplitter(options.onStdoutLine) : undefined;
    const stderrLines = options.onStderrLine ? lineSplitter(options.onStderrLine) : undefined;
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }, options.timeoutMs);

    if (options.stdoutTo) {
      child.stdout.pipe(options.stdoutTo, { end: false });
    } else {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        stdoutLines?.push(chunk);
      });
    }
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      stderrLines?.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      unregister();
      const reason =
        error.code === 'ENOENT'
          ? `could not be started: "${command}" was not found`
          : `could not be started: ${error.message}`;
      reject(
        new ProcessError(display, { exitCode: -1, stdout: '', stderr: '', durationMs: Date.now() - started }, reason),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      unregister();
      stdoutLines?.end();
      stderrLines?.end();
      const result: RunResult = {
        exitCode: code ?? -1,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        durationMs: Date.now() - started,
      };
      if (stoppedByCancel) return reject(new CancelledError(`${path.basename(command)} was stopped`));
      if (timedOut) return reject(new ProcessError(display, result, `timed out after ${options.timeoutMs}ms`));
      if (signal) return reject(new ProcessError(display, result, `was killed by ${signal}`));
      if (!(options.okExitCodes ?? [0]).includes(result.exitCode)) {
        return reject(new ProcessError(display, result, `exited with code ${result.exitCode}`));
      }
      resolve(result);
    });
    child.stdin.on('error', () => {
      // The child may exit without reading its input; its exit status tells the real story.
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds a program on PATH (and in extra directories, searched first); undefined when absent. */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = [...extraDirs, ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean)];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}
