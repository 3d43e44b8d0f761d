import { existsSync, statSync } from 'node:fs';
import { InputError } from '../errors.js';
import { integerInput, secretInput, stringInput } from '../inputs.js';
import { localExecutor, type HostExecutor } from './executor.js';
import { openSshExecutor, type SshTarget } from './ssh.js';

/**
 * Where an action's compose commands run: on this runner, or on a deploy host over SSH. The inputs
 * (ssh-host, ssh-user, ssh-key, ssh-port, known-hosts, working-directory) mean the same in every
 * action that reaches a deploy host, so they are read, checked and opened here, once.
 */
export interface SshSettings {
  host: string;
  user?: string;
  key?: string;
  port: number;
  /** known_hosts content, or 'accept-new' to trust on first use. */
  knownHosts: string;
}

// No leading "-": ssh would read it as an option.
const HOST = /^[A-Za-z0-9:][A-Za-z0-9.:-]*$/;
const USER = /^[a-z_][a-z0-9_.-]*$/i;

/** The SSH inputs, checked together; undefined when ssh-host is empty (and then none of the others may be set). */
export function readSshInputs(): SshSettings | undefined {
  const sshHost = stringInput('ssh-host', { pattern: HOST, patternDescription: 'a host name or IP address' });
  if (!sshHost) {
    for (const name of ['ssh-user', 'ssh-key', 'known-hosts'] as const) {
      if (stringInput(name))
        throw new InputError(name, 'is set but ssh-host is not: set ssh-host to run on a remote host, or remove it.');
    }
    return undefined;
  }
  const knownHosts = stringInput('known-hosts');
  if (!knownHosts) {
    throw new InputError(
      'known-hosts',
      'is required with ssh-host: give the host key line(s) (ssh-keyscan output verified out of band), or "accept-new" to trust the first key seen.',
    );
  }
  if (knownHosts !== 'accept-new' && !/^\S+\s+(ssh-|ecdsa-|sk-)\S*\s+\S+/m.test(knownHosts)) {
    throw new InputError(
      'known-hosts',
      'must be known_hosts line(s) such as "host ssh-ed25519 AAAA..." (ssh-keyscan output), or "accept-new".',
    );
  }
  return {
    host: sshHost,
    user: stringInput('ssh-user', { pattern: USER, patternDescription: 'a user name' }),
    key: secretInput('ssh-key'),
    port: integerInput('ssh-port', { default: 22, min: 1, max: 65535 }),
    knownHosts,
  };
}

/** The SSH inputs as the SSH executor takes them (actions that open the connection themselves). */
export function readSshTarget(): SshTarget | undefined {
  const ssh = readSshInputs();
  return ssh && { host: ssh.host, user: ssh.user, privateKey: ssh.key, port: ssh.port, knownHosts: ssh.knownHosts };
}

/** The executor for the host: the deploy host over SSH, or this runner (whose working-directory must exist). */
export async function openHostExecutor(
  ssh: SshSettings | undefined,
  workingDirectory: string,
): Promise<HostExecutor & { close?: () => Promise<void> }> {
  if (!ssh) {
    if (!existsSync(workingDirectory) || !statSync(workingDirectory).isDirectory())
      throw new InputError(
        'working-directory',
        `is not a directory on this runner: ${JSON.stringify(workingDirectory)}.`,
      );
    return localExecutor;
  }
  return await openSshExecutor({
    host: ssh.host,
    user: ssh.user,
    port: ssh.port,
    privateKey: ssh.key,
    knownHosts: ssh.knownHosts,
  });
}
