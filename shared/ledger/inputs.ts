import path from 'node:path';
import { InputError } from '../errors.js';
import { quote, stringInput } from '../inputs.js';
import { LEDGER_ENV } from './ledger.js';

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
