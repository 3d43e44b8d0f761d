import { InputError } from '../errors.js';
import { rawInput } from '../inputs.js';

/**
 * backup-db's and restore-db's two methods. Apart from the pgbackrest inputs (pgbackrest/inputs.ts)
 * so that a dump, which reads only this, does not load what method "pgbackrest" needs (the YAML
 * parser among it) at its start.
 */
export const METHODS = ['dump', 'pgbackrest'] as const;
export type BackupMethod = (typeof METHODS)[number];

/** Inputs of one method given with the other: said plainly, not ignored. */
export function rejectInputsOfOtherMethod(method: BackupMethod, names: readonly string[]): void {
  for (const name of names) {
    if (rawInput(name) !== '')
      throw new InputError(
        name,
        `does not apply to method "${method}"; remove it, or set method to ${method === 'dump' ? '"pgbackrest"' : '"dump"'}.`,
      );
  }
}
