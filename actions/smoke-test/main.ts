import { ActionError } from '../../shared/errors.js';
import { readSmokeInputs } from './inputs.js';

export async function run(): Promise<void> {
  readSmokeInputs();
  throw new ActionError('smoke-test is not implemented yet: its inputs are valid, but it does nothing with them.');
}
