import { ActionError } from '../../shared/errors.js';
import { readRedeployInputs } from './inputs.js';

export async function run(): Promise<void> {
  readRedeployInputs();
  throw new ActionError('redeploy-tag is not implemented yet: its inputs are valid, but it does nothing with them.');
}
