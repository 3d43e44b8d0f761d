import { ActionError } from '../../shared/errors.js';
import { readBackupInputs } from './inputs.js';

export async function run(): Promise<void> {
  readBackupInputs();
  throw new ActionError('backup-db is not implemented yet: its inputs are valid, but it does nothing with them.');
}
