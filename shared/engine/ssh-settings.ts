import { integerInput, secretInput, stringInput } from '../inputs.js';
import { InputError } from '../errors.js';
import type { SshTarget } from './ssh.js';

/**
 * The ssh-host, ssh-user, ssh-key, ssh-port and known-hosts inputs of every action that reaches a
 * host over SSH, read and checked the same way everywhere: the host key is required, and a user or
 * key without a host is a mistake, not something to ignore.
 */
// No leading "-": ssh would read it as an option.
const HOST = /^[A-Za-z0-9:][A-Za-z0-9.:-]*$/;
const USER = /^[a-z_][a-z0-9_.-]*$/i;

export function readSshTarget(): SshTarget | undefined {
  const host = stringInput('ssh-host', { pattern: HOST, patternDescription: 'a host name or IP address' });
  const user = stringInput('ssh-user', { pattern: USER, patternDescription: 'a user name' });
  const privateKey = secretInput('ssh-key');
  const port = integerInput('ssh-port', { default: 22, min: 1, max: 65535 });
  const knownHosts = stringInput('known-hosts');
  if (!host) {
    for (const [name, value] of [['ssh-user', user], ['ssh-key', privateKey], ['known-hosts', knownHosts]] as const) {
      if (value) throw new InputError(name, 'is set but ssh-host is not: set ssh-host to run on a remote host, or remove it.');
    }
    return undefined;
  }
  if (!knownHosts) {
    throw new InputError('known-hosts', 'is required with ssh-host: give the host key line(s) (ssh-keyscan output verified out of band), or "accept-new" to trust the first key seen.');
  }
  if (knownHosts !== 'accept-new' && !/^\S+\s+(ssh-|ecdsa-|sk-)\S*\s+\S+/m.test(knownHosts)) {
    throw new InputError('known-hosts', 'must be known_hosts line(s) such as "host ssh-ed25519 AAAA..." (ssh-keyscan output), or "accept-new".');
  }
  return { host, user, privateKey, port, knownHosts };
}
