import { workflowRunUrl } from './deployments.js';
import { LOCAL_RUN_ENV } from './run-reference.js';

/** The log_url of a deployment status: the run's page on GitHub, none for a local run (its run id names no page there). */
export function deploymentLogUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[LOCAL_RUN_ENV] ? undefined : workflowRunUrl(env);
}
