import { LOCAL_RUN_ENV, workflowRunUrl } from './deployments.js';

export { LOCAL_RUN_ENV };

/** Where a reader finds the current run (the reports' "Run:"): its page on GitHub, or for a local run where it ran and its record. */
export function workflowRunReference(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[LOCAL_RUN_ENV] || workflowRunUrl(env);
}
