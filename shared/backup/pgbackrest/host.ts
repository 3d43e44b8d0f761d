import * as core from '@actions/core';
import { localExecutor, prefixedExecutor, type HostExecutor } from '../../engine/executor.js';
import { openSshExecutor, type SshExecutor, type SshTarget } from '../../engine/ssh.js';
import { ActionError, errorMessage } from '../../errors.js';
import { ProcessError, formatCommand, type RunOptions, type RunResult } from '../../process.js';
import { withProgressGroup } from '../progress.js';
import { parseStanzaInfo, type StanzaInfo } from './info.js';

/**
 * Where pgBackRest runs, and how this action reaches it: on the runner, over SSH, or through a
 * command prefix (`sudo -u postgres`, `docker compose exec -T db`), combined as needed. Every
 * command goes through one executor as an argument array; the stanza and config file are added to
 * each pgbackrest call here, so no caller can forget them.
 */
export interface PgBackRestSettings {
  stanza: string;
  /** pgbackrest.conf on that host, when not the default (/etc/pgbackrest/pgbackrest.conf). */
  config?: string;
  /** Command prefix pgBackRest and the server programs (pg_ctl, pg_waldump) run through. */
  via: string[];
  ssh?: SshTarget;
  /** How long a WAL segment may take to reach the archive (pgbackrest --archive-timeout). */
  archiveTimeoutSeconds: number;
  /** Where pg_ctl and pg_waldump are on that host, when neither PATH nor the usual directories have them. */
  serverBinDir?: string;
}

export const STANZA_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

type ServerProgram = 'pg_ctl' | 'pg_waldump';

/** The first "ERROR: [nnn]: ..." pgBackRest printed, without the log prefix. */
export function pgBackRestError(output: string): string | undefined {
  const line = output.split('\n').find((text) => /\bERROR: \[\d+\]:/.test(text));
  return line?.replace(/^.*?\bERROR: /, '').trim();
}

/** `pgbackrest version` there: "2.45", or an error that says pgBackRest does not run there. */
async function probeVersion(executor: HostExecutor): Promise<string> {
  const result = await executor.run('pgbackrest', ['version'], { timeoutMs: 60_000 }).catch((error: unknown) => {
    throw new ActionError(`pgBackRest does not run on ${executor.description}: ${errorMessage(error)}`, {
      hint: 'Install pgbackrest where the database server runs, and set pgbackrest-via (e.g. sudo -u postgres, or docker compose exec -T db) and ssh-host so that this step reaches it.',
    });
  });
  const version = /pgBackRest\s+(\S+)/.exec(result.stdout)?.[1];
  if (!version)
    throw new ActionError(
      `"pgbackrest version" on ${executor.description} printed ${JSON.stringify(result.stdout.trim())}, not a pgBackRest version.`,
    );
  return version;
}

const PID_MARK = 'rollback-actions: pgbackrest runs as pid';
const PID_LINE = new RegExp(`^${PID_MARK} (\\d+)$`);

/** A command started and not awaited: `done` settles when it ends; `stop()` ends it and waits for that. */
export interface StoppableCommand {
  done: Promise<RunResult>;
  stop(): Promise<void>;
}

export class PgBackRestHost {
  private readonly programs = new Map<string, Promise<string>>();

  private constructor(
    /** Runs through pgbackrest-via: pgBackRest and the server programs. */
    readonly executor: HostExecutor,
    /** The host itself, without the prefix: stop-command and start-command run here. */
    readonly direct: HostExecutor,
    readonly settings: PgBackRestSettings,
    private readonly ssh: SshExecutor | undefined,
  ) {}

  private probedVersion = '';

  /** "2.45" */
  get version(): string {
    return this.probedVersion;
  }

  get description(): string {
    return this.executor.description;
  }

  /**
   * Connects (SSH), and proves pgBackRest runs there before anything else is attempted. Opens the
   * host and runs `first` (a read such as `pgbackrest info`) beside `pgbackrest version`:
   * one round trip instead of two. When pgBackRest does not run there, the version's error is the
   * one reported, whatever `first` failed with.
   */
  static async openWith<T>(
    settings: PgBackRestSettings,
    first: (host: PgBackRestHost) => Promise<T>,
  ): Promise<{ host: PgBackRestHost; value: T }> {
    const ssh = settings.ssh ? await openSshExecutor(settings.ssh) : undefined;
    const executor = prefixedExecutor(ssh ?? localExecutor, settings.via);
    const host = new PgBackRestHost(executor, ssh ?? localExecutor, settings, ssh);
    const value = first(host);
    value.catch(() => undefined);
    try {
      host.probedVersion = await probeVersion(executor);
      return { host, value: await value };
    } catch (error) {
      await ssh?.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.ssh?.close();
  }

  /** The options every pgbackrest command takes, before the command name. */
  private globalOptions(): string[] {
    return [`--stanza=${this.settings.stanza}`, ...(this.settings.config ? [`--config=${this.settings.config}`] : [])];
  }

  /** Runs `pgbackrest <command>`; a failure becomes pgBackRest's own error line. */
  async pgbackrest(
    command: string,
    args: readonly string[] = [],
    options: Pick<RunOptions, 'onStdoutLine' | 'onStderrLine' | 'timeoutMs' | 'okExitCodes'> = {},
    /** A program pgbackrest runs under there (`sh -c ... exec`), as its first arguments. */
    wrapper: readonly string[] = [],
  ): Promise<RunResult> {
    const [program, ...programArgs] = [...wrapper, 'pgbackrest', ...this.globalOptions(), command, ...args];
    try {
      return await this.executor.run(program, programArgs, options);
    } catch (error) {
      if (error instanceof ProcessError) {
        const reason = pgBackRestError(`${error.result.stderr}\n${error.result.stdout}`);
        if (reason)
          throw new ActionError(
            `pgbackrest ${command} (stanza "${this.settings.stanza}" on ${this.description}) failed: ${reason}`,
            { cause: error },
          );
        // The wrapper that announced the pid is this action's own device: not part of what failed.
        if (wrapper.length > 0)
          throw new ActionError(
            error.message
              .replace(`${formatCommand(wrapper[0], wrapper.slice(1))} `, '')
              .split('\n')
              .filter((line) => !PID_LINE.test(line))
              .join('\n'),
            { cause: error },
          );
      }
      throw error;
    }
  }

  /** A long pgbackrest command with its log lines in a collapsible group. */
  async pgbackrestLogged(title: string, command: string, args: readonly string[]): Promise<RunResult> {
    return withProgressGroup(title, (log) =>
      this.pgbackrest(command, ['--log-level-console=info', ...args], { onStdoutLine: log, onStderrLine: log }),
    );
  }

  /**
   * A long pgbackrest command, logged as pgbackrestLogged does, that `stop()` ends while it runs:
   * SIGTERM to the pgbackrest process itself, on the host and behind the prefix where it runs
   * (killing the local ssh or `docker compose exec` client would leave it running there). It runs
   * under `sh -c 'echo <pid>; exec pgbackrest ...'` so that its first line names its pid there.
   */
  startLogged(title: string, command: string, args: readonly string[]): StoppableCommand {
    let announce: (pid: string | undefined) => void = () => undefined;
    const pid = new Promise<string | undefined>((resolve) => (announce = resolve));
    let ended = false;
    const done = withProgressGroup(title, (log) =>
      this.pgbackrest(
        command,
        ['--log-level-console=info', ...args],
        {
          onStdoutLine: (line) => {
            const announced = PID_LINE.exec(line);
            if (announced) announce(announced[1]);
            else log(line);
          },
          onStderrLine: log,
        },
        ['sh', '-c', `echo "${PID_MARK} $$"; exec "$@"`, 'sh'],
      ),
    ).finally(() => {
      ended = true;
      announce(undefined);
    });
    done.catch(() => undefined);
    return {
      done,
      stop: async () => {
        const running = await pid;
        if (running && !ended)
          await this.executor
            // The shell's own kill: a database image may have no /bin/kill (procps).
            .run('sh', ['-c', 'kill -TERM "$1"', 'sh', running], { okExitCodes: [0, 1], timeoutMs: 30_000 })
            .catch((error: unknown) =>
              core.warning(`Could not stop pgbackrest ${command} (pid ${running}): ${errorMessage(error)}`),
            );
        await done.catch(() => undefined);
      },
    };
  }

  async info(): Promise<StanzaInfo> {
    const { stdout } = await this.pgbackrest('info', ['--output=json', '--log-level-console=warn']);
    return parseStanzaInfo(stdout, this.settings.stanza);
  }

  /** `pgbackrest check`: the configuration, the repository, and one WAL segment archived end to end. */
  async check(options: { quiet?: boolean } = {}): Promise<void> {
    const timeout = `--archive-timeout=${this.settings.archiveTimeoutSeconds}`;
    // Quiet beside another logged command: the log's groups cannot interleave. A failure still
    // carries pgBackRest's error line.
    if (options.quiet) await this.pgbackrest('check', ['--log-level-console=warn', timeout]);
    else await this.pgbackrestLogged(`pgbackrest check (stanza ${this.settings.stanza})`, 'check', [timeout]);
  }

  /** Runs any other program there (cat, mktemp, rm, tee, pg_ctl...) through the same prefix. */
  run(command: string, args: readonly string[], options?: Parameters<HostExecutor['run']>[2]): Promise<RunResult> {
    return this.executor.run(command, args, options);
  }

  /**
   * pg_ctl or pg_waldump of the server's major version on that host: server-bin-dir, else PATH
   * (the official images), else Debian's and the PGDG RPMs' directories. Found once per step.
   */
  serverProgram(name: ServerProgram, major: string): Promise<string> {
    const key = `${name}@${major}`;
    let found = this.programs.get(key);
    if (!found) {
      found = this.findServerProgram(name, major);
      this.programs.set(key, found);
    }
    return found;
  }

  private async findServerProgram(name: ServerProgram, major: string): Promise<string> {
    const candidates = this.settings.serverBinDir
      ? [`${this.settings.serverBinDir.replace(/\/+$/, '')}/${name}`]
      : [`/usr/lib/postgresql/${major}/bin/${name}`, `/usr/pgsql-${major}/bin/${name}`, name];
    const tried: string[] = [];
    for (const candidate of candidates) {
      const result = await this.executor
        .run(candidate, ['--version'], {
          okExitCodes: Array.from({ length: 256 }, (_, code) => code),
          timeoutMs: 30_000,
        })
        .catch((error: unknown) => {
          tried.push(`${candidate}: ${errorMessage(error).split('\n')[0]}`);
          return undefined;
        });
      if (!result) continue;
      const version = /\(PostgreSQL\)\s+(\d+)/.exec(result.stdout)?.[1];
      if (result.exitCode === 0 && version === major) return candidate;
      tried.push(
        `${candidate}: ${result.exitCode === 0 ? `version ${version ?? 'unknown'}` : `exit ${result.exitCode}`}`,
      );
    }
    throw new ActionError(
      `No ${name} of PostgreSQL ${major} found on ${this.description} (tried ${tried.join('; ')}).`,
      {
        hint: 'Set server-bin-dir to the directory that holds the server programs of that version.',
      },
    );
  }

  /** A private scratch directory there, removed by the returned function. */
  async scratchDirectory(): Promise<{ path: string; remove: () => Promise<void> }> {
    // A command prefix such as runuser keeps the caller's TMPDIR, which the user pgBackRest runs as
    // may not be able to write to: then /tmp, which every user can.
    const { stdout } = await this.executor
      .run('mktemp', ['-d', '-t', 'rollback-actions-XXXXXX'])
      .catch(() => this.executor.run('mktemp', ['-d', '-p', '/tmp', 'rollback-actions-XXXXXX']));
    const dir = stdout.trim();
    if (!dir.startsWith('/'))
      throw new ActionError(`mktemp on ${this.description} printed ${JSON.stringify(dir)}, not a directory.`);
    return {
      path: dir,
      remove: async () => {
        await this.executor
          .run('rm', ['-rf', '--', dir])
          .catch((error: unknown) =>
            core.warning(`Could not remove ${dir} on ${this.description}: ${errorMessage(error)}`),
          );
      },
    };
  }
}
