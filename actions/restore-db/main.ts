import { ActionError } from '../../shared/errors.js';
import { readRestoreInputs } from './inputs.js';

export async function run(): Promise<void> {
  readRestoreInputs();
  throw new ActionError('restore-db is not implemented yet: its inputs are valid, but it does nothing with them.');
}
