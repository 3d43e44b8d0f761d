import { workflowRunUrl } from './deployments.js';

/**
 * Set by the rollback-actions command for a run of the local runner: "local run on <host> at
 * <time>, record <dir>". Such a run has no page on GitHub, whatever GITHUB_SERVER_URL says.
 */
export const LOCAL_RUN_ENV = 'ROLLBACK_LOCAL_RUN';

/** Where a reader finds the current run (the reports' "Run:"): its page on GitHub, or for a local run where it ran and its record. */
export function workflowRunReference(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[LOCAL_RUN_ENV] || workflowRunUrl(env);
}
