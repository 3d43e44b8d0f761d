import { ActionError } from '../../shared/errors.js';
import { readApplyDownInputs } from './inputs.js';

export async function run(): Promise<void> {
  readApplyDownInputs();
  throw new ActionError('apply-down-migrations is not implemented yet: its inputs are valid, but it does nothing with them.');
}
