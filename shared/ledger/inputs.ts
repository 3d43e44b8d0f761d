import path from 'node:path';
import { InputError } from '../errors.js';
import { quote, stringInput } from '../inputs.js';
import { readSshInputs } from '../engine/host-inputs.js';
import { LEDGER_ENV } from './ledger.js';
import type { LedgerLocation } from './on-host.js';

/**
 * The `ledger` input (or ROLLBACK_LEDGER): the ledger file on the host the action's commands run
 * on. A relative path is relative to working-directory on the runner, and to the SSH user's login
 * directory on a deploy host (`remote`). Undefined when neither is set: nothing is recorded.
 */
export function readLedgerPath(remote: boolean, workingDirectory: string): string | undefined {
  const fromInput = stringInput('ledger', { pattern: /^[^\r\n\0]{1,4096}$/, patternDescription: 'a file path' });
  const text = fromInput ?? (process.env[LEDGER_ENV] || undefined);
  if (text === undefined) return undefined;
  if (text.endsWith('/'))
    throw new InputError(
      'ledger',
      `must name a file, not a directory; got ${quote(text)}${fromInput === undefined ? ` (from ${LEDGER_ENV})` : ''}.`,
    );
  return remote || path.isAbsolute(text) ? text : path.resolve(workingDirectory, text);
}

/**
 * ledger and the ssh-* inputs of an action whose ssh-host only says on which host the ledger is
 * (the deploy host, where redeploy-tag keeps it): ssh-host without a ledger is refused, in the
 * words `withoutLedger`. Undefined when no ledger is set.
 */
export function readLedgerLocation(withoutLedger: string): LedgerLocation | undefined {
  const ssh = readSshInputs();
  const ledger = readLedgerPath(ssh !== undefined, process.env.GITHUB_WORKSPACE || process.cwd());
  if (ssh && !ledger) throw new InputError('ssh-host', withoutLedger);
  return ledger === undefined ? undefined : { path: ledger, ssh };
}

/** The ledger of an action whose own work runs on the runner (backup-db's and restore-db's method "dump"). */
export function readLedgerOnHost(work: string): LedgerLocation | undefined {
  return readLedgerLocation(
    `with method "dump" only says where the deployment ledger is (${work} on this runner): set "ledger" (or ${LEDGER_ENV}) too, or remove it.`,
  );
}
