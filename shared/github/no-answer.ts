/**
 * GitHub did not answer (no connection or a timeout, which Octokit reports as 500) or answered with
 * a server error: an outage to wait out, unlike a refusal (401, 403, 404), which is a setting to fix.
 */
export function gitHubDidNotAnswer(error: unknown): boolean {
  const status = (error as { status?: number }).status;
  return status === undefined || status >= 500;
}
