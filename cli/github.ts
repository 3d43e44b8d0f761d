/**
 * Whether GitHub answers for the app repository, asked once before a run: its deployments when it
 * does, the deployment ledger when it does not. The reason is said either way.
 */
export interface GitHubReach {
  apiUrl: string;
  reachable: boolean;
  reason: string;
}

export function apiUrlOf(env: NodeJS.ProcessEnv): string {
  return (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
}

export async function probeGitHub(
  apiUrl: string,
  repository: string,
  token: string | undefined,
  timeoutMs = 5000,
): Promise<GitHubReach> {
  if (!token) return { apiUrl, reachable: false, reason: 'no GITHUB_TOKEN given' };
  try {
    const response = await fetch(`${apiUrl}/repos/${repository}/deployments?per_page=1`, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/vnd.github+json',
        'user-agent': 'rollback-actions',
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    if (response.ok) return { apiUrl, reachable: true, reason: `${apiUrl} answered` };
    return {
      apiUrl,
      reachable: false,
      reason: `${apiUrl} answered ${response.status} ${response.statusText} for ${repository}'s deployments`,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      apiUrl,
      reachable: false,
      reason: `${apiUrl} did not answer (${cause?.code ?? cause?.message ?? (error as Error).message})`,
    };
  }
}
