import { ActionError } from '../../shared/errors.js';
import { readComputeInputs } from './inputs.js';

export async function run(): Promise<void> {
  readComputeInputs();
  throw new ActionError('compute-rollback-target is not implemented yet: its inputs are valid, but it does nothing with them.');
}
