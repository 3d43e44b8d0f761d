import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActionError } from '../errors.js';
import { findExecutable, formatCommand, ProcessError, runProcess, type RunResult } from '../process.js';
import type { HostExecutor } from './executor.js';
import { REMOTE_PRIVATE_FILE_LINE, remoteCommandLine, remoteEnvScript } from './shell-quote.js';

/**
 * Runs engine and compose commands on a deploy host over SSH with the system's OpenSSH client.
 * Host keys are checked strictly against the known_hosts given (or trusted on first use only when
 * asked with "accept-new"); the private key lives in a 0600 file in a 0700 temp dir that close()
 * deletes. One multiplexed connection (ControlMaster) carries every command, so polling a
 * container's health costs a round trip, not a handshake.
 */
export interface SshTarget {
  host: string;
  user?: string;
  port: number;
  /** OpenSSH/PEM private key text; without it ssh uses the runner's agent or default keys. */
  privateKey?: string;
  /** known_hosts lines for the host, or 'accept-new' to trust the key seen on first connection. */
  knownHosts: string;
  connectTimeoutSeconds?: number;
}

export interface SshExecutor extends HostExecutor {
  readonly remote: true;
  /** Ends the shared connection and deletes the key and known_hosts files. */
  close(): Promise<void>;
}

/** ssh's own exit status for "could not connect, authenticate or verify the host". */
const SSH_FAILURE = 255;
const ANY_EXIT_CODE = Array.from({ length: 256 }, (_, code) => code);

function sshFailureHint(stderr: string, target: SshTarget): string | undefined {
  if (/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
    return target.knownHosts === 'accept-new'
      ? 'The host presented a key different from the one accepted earlier.'
      : `The host's key is not the one in known-hosts. Get it out of band (e.g. ssh-keyscan -p ${target.port} ${target.host}, checked against the host's fingerprint) and pass it in known-hosts.`;
  }
  if (/Permission denied/i.test(stderr))
    return `ssh-user/ssh-key were refused: check that the public key is in ~${target.user ?? ''}/.ssh/authorized_keys on ${target.host}.`;
  if (/Load key|invalid format|error in libcrypto/i.test(stderr))
    return 'ssh-key is not a valid private key: pass the whole file (-----BEGIN ... END-----), without a passphrase.';
  if (/Connection refused|timed out|No route to host|Could not resolve hostname|Network is unreachable/i.test(stderr)) {
    return `Check ssh-host and ssh-port (${target.host}:${target.port}) and that the runner can reach it.`;
  }
  return undefined;
}

/** Normalises a key pasted into a secret: CRLF line ends and a missing final newline make ssh reject it. */
function normaliseKey(key: string): string {
  return `${key.replace(/\r\n/g, '\n').trim()}\n`;
}

export async function openSshExecutor(target: SshTarget): Promise<SshExecutor> {
  if (!findExecutable('ssh')) {
    throw new ActionError('ssh-host is set but the ssh client is not installed on this runner.', {
      hint: 'Install openssh-client (apt-get install openssh-client) before this step.',
    });
  }
  // os.tmpdir(), not RUNNER_TEMP: the control socket path must stay under the ~100 byte socket limit.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-ssh-'));
  const knownHostsFile = path.join(dir, 'known_hosts');
  const keyFile = path.join(dir, 'id');
  const controlPath = path.join(dir, 'cm');
  const accepting = target.knownHosts === 'accept-new';
  writeFileSync(knownHostsFile, accepting ? '' : `${target.knownHosts.replace(/\r\n/g, '\n').trim()}\n`, {
    mode: 0o600,
  });
  if (target.privateKey) writeFileSync(keyFile, normaliseKey(target.privateKey), { mode: 0o600 });

  const options = [
    '-p',
    String(target.port),
    '-o',
    'BatchMode=yes',
    '-o',
    `StrictHostKeyChecking=${accepting ? 'accept-new' : 'yes'}`,
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'CheckHostIP=no',
    '-o',
    `ConnectTimeout=${target.connectTimeoutSeconds ?? 20}`,
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=4',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${controlPath}`,
    '-o',
    'ControlPersist=60',
    '-o',
    'LogLevel=ERROR',
    ...(target.privateKey ? ['-i', keyFile, '-o', 'IdentitiesOnly=yes'] : []),
    ...(target.user ? ['-l', target.user] : []),
  ];
  const description = `${target.user ? `${target.user}@` : ''}${target.host}:${target.port}`;

  const executor: SshExecutor = {
    description,
    remote: true,
    async run(command, args, runOptions = {}) {
      // Shown in errors instead of the ssh command line, which would list key and socket paths.
      const display = `${formatCommand(command, args)} (on ${description})`;
      const envScript = remoteEnvScript(runOptions.env);
      let envFile: string | undefined;
      if (envScript) {
        // One more round trip on the shared connection keeps the values out of every command line.
        const written = await runProcess('ssh', [...options, '--', target.host, REMOTE_PRIVATE_FILE_LINE], {
          input: envScript,
          timeoutMs: 30_000,
          okExitCodes: ANY_EXIT_CODE,
        });
        envFile = written.stdout.trim();
        if (written.exitCode !== 0 || !envFile.startsWith('/'))
          throw new ProcessError(`${display}: writing its environment to a private file`, written, 'failed');
      }
      const line = remoteCommandLine(command, args, { cwd: runOptions.cwd, env: runOptions.env, envFile });
      let result: RunResult;
      try {
        result = await runProcess('ssh', [...options, '--', target.host, line], {
          input: runOptions.input,
          timeoutMs: runOptions.timeoutMs,
          onStdoutLine: runOptions.onStdoutLine,
          onStderrLine: runOptions.onStderrLine,
          okExitCodes: ANY_EXIT_CODE,
        });
      } catch (error) {
        if (error instanceof ProcessError)
          throw new ProcessError(
            display,
            error.result,
            error.message.includes('timed out') ? `timed out after ${runOptions.timeoutMs}ms` : 'was interrupted',
          );
        throw error;
      }
      const okExitCodes = runOptions.okExitCodes ?? [0];
      if (okExitCodes.includes(result.exitCode)) return result;
      if (result.exitCode === SSH_FAILURE) {
        const hint = sshFailureHint(result.stderr, target);
        if (hint)
          throw new ActionError(`ssh to ${description} failed: ${result.stderr.trim().split('\n').at(-1)}`, { hint });
      }
      throw new ProcessError(display, result, `exited with code ${result.exitCode}`);
    },
    async close() {
      await runProcess('ssh', ['-o', `ControlPath=${controlPath}`, '-O', 'exit', '--', target.host], {
        okExitCodes: [0, 255],
        timeoutMs: 10_000,
      }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    // One round trip up front: a wrong key or host key fails here, before anything is looked at or changed.
    await executor.run('true', []);
  } catch (error) {
    await executor.close();
    throw error;
  }
  return executor;
}
