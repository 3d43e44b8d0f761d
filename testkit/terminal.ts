import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../shared/process.js';

/**
 * A real terminal session: a private tmux server (its own socket, so nothing else's sessions are
 * touched) running bash. A command is typed with send-keys, everything the terminal shows is kept
 * through pipe-pane, and an answer can be typed when a prompt appears: what an operator does.
 */
export interface TerminalRun {
  exitCode: number;
  /** Everything the terminal showed (typed command echo and escape sequences included). */
  output: string;
}

export class Terminal {
  private readonly socket: string;
  private readonly log: string;
  private count = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.socket = path.join(dir, 'tmux.sock');
    this.log = path.join(dir, 'terminal.log');
  }

  private tmux(...args: string[]) {
    return runProcess('tmux', ['-S', this.socket, ...args]);
  }

  async start(): Promise<void> {
    writeFileSync(this.log, '');
    await this.tmux('new-session', '-d', '-s', 'operator', '-x', '200', '-y', '50', 'bash --norc --noprofile');
    await this.tmux('pipe-pane', '-o', '-t', 'operator', `cat >> '${this.log}'`);
  }

  /** Everything the terminal has shown so far. */
  output(): string {
    return readFileSync(this.log, 'utf8');
  }

  /**
   * Runs `bash <script>` in the session (the script, not its contents, is what appears typed: the
   * environment it exports stays off the screen, as an operator's sourced env file does). When
   * `prompt` shows, runs `whilePrompted` (what happens in the world while the operator reads the
   * plan), then types `answer` and Enter. Resolves with the exit status and what was shown.
   */
  async run(
    script: string,
    options: { prompt?: string; answer?: string; timeoutMs?: number; whilePrompted?: () => Promise<void> } = {},
  ): Promise<TerminalRun> {
    const rcFile = path.join(this.dir, `rc-${++this.count}`);
    const before = this.output().length;
    await this.tmux('send-keys', '-t', 'operator', `bash ${script}; echo $? > ${rcFile}`, 'Enter');
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    let answered = options.prompt === undefined;
    while (!existsSync(rcFile) || readFileSync(rcFile, 'utf8').trim() === '') {
      if (Date.now() > deadline)
        throw new Error(
          `the terminal command did not finish in time; the screen shows:\n${this.output().slice(before).slice(-3000)}`,
        );
      if (!answered && this.output().slice(before).includes(options.prompt!)) {
        answered = true;
        await options.whilePrompted?.();
        await this.tmux('send-keys', '-t', 'operator', options.answer ?? 'y', 'Enter');
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // pipe-pane flushes asynchronously: give the last lines a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { exitCode: Number(readFileSync(rcFile, 'utf8').trim()), output: this.output().slice(before) };
  }

  async stop(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}
