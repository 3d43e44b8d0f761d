import * as core from '@actions/core';
import { ActionError, errorMessage } from './errors.js';

/**
 * The one way an action's entry point runs: known failures become a single clear `::error::` line
 * (plus a hint); anything unexpected also gets its stack in the debug log for a bug report.
 */
export async function runAction(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof ActionError) {
      core.setFailed(error.hint ? `${error.message}\nHint: ${error.hint}` : error.message);
    } else {
      if (error instanceof Error && error.stack) core.debug(error.stack);
      core.setFailed(`Unexpected error: ${errorMessage(error)}`);
    }
  }
}
