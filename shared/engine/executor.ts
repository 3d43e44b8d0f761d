import { runProcess, type RunOptions, type RunResult } from '../process.js';
import { localEngineApi, type EngineApi } from './engine-api.js';

/**
 * Where engine and compose commands run: on the runner, or (redeploy-tag's ssh-host) on a remote
 * host. Code that inspects containers takes an executor so it works the same in both places.
 */
export interface HostExecutor {
  /** "this runner" or "deploy@host:22", for messages. */
  readonly description: string;
  /** True when commands run on another host: local files (compose files, temp files) are not visible there. */
  readonly remote?: boolean;
  run(
    command: string,
    args: readonly string[],
    options?: Pick<RunOptions, 'cwd' | 'env' | 'input' | 'timeoutMs' | 'okExitCodes' | 'onStdoutLine' | 'onStderrLine'>,
  ): Promise<RunResult>;
  /**
   * The engine's API, for questions (never changes) that would otherwise start the docker CLI:
   * where commands run with `env`, when the CLI would reach a local unix socket. Undefined: ask the CLI.
   */
  engine?(env?: Record<string, string | undefined>): EngineApi | undefined;
}

export const localExecutor: HostExecutor = {
  description: 'this runner',
  run: (command, args, options) => runProcess(command, args, options),
  engine: (env) => localEngineApi(env),
};

/**
 * Runs every command through a fixed prefix on another executor: `sudo -u postgres`,
 * `runuser -u postgres --` or `docker compose exec -T db` put in front of the program and its
 * arguments, still one argument array (no shell is involved on this side of the prefix).
 */
export function prefixedExecutor(base: HostExecutor, prefix: readonly string[]): HostExecutor {
  if (prefix.length === 0) return base;
  return {
    description: `${prefix.join(' ')} on ${base.description}`,
    remote: base.remote,
    run: (command, args, options) => base.run(prefix[0], [...prefix.slice(1), command, ...args], options),
  };
}
