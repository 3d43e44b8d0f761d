import { startArtifactService, type ArtifactService } from './artifacts/index.js';
import { startFakeGitHub } from './github-api/index.js';

/**
 * The GitHub services a backup step talks to, local: the artifact service (for this run's
 * artifacts) and the REST API with the artifact routes (other runs, latest for a label).
 */
export const READ_TOKEN = 'ghs_actions_read_token';

export interface StandIns {
  artifacts: ArtifactService;
  github: Awaited<ReturnType<typeof startFakeGitHub>>;
  /** The step environment of a job in run `runId`, as the runner sets it. */
  env(runId: number): Record<string, string>;
  stop(): Promise<void>;
}

export async function startStandIns(): Promise<StandIns> {
  const github = await startFakeGitHub({ token: READ_TOKEN });
  const artifacts = await startArtifactService({ github: github.server });
  return {
    artifacts,
    github,
    env: (runId) => ({ ...artifacts.runnerEnv(runId), GITHUB_API_URL: github.server.baseUrl }),
    async stop() {
      await artifacts.stop();
      await github.server.stop();
    },
  };
}
