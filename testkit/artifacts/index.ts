import { registerArtifactsApi } from '../github-api/artifacts.js';
import type { FakeGitHubServer } from '../github-api/server.js';
import { ArtifactService } from './service.js';

export { ArtifactService } from './service.js';

/**
 * Starts the artifact service stand-in. With `github`, its artifacts also appear in that GitHub
 * REST stand-in (list, get, download redirect, delete), as they do on api.github.com.
 */
export async function startArtifactService(options: { github?: FakeGitHubServer } = {}): Promise<ArtifactService> {
  const service = new ArtifactService();
  await service.start();
  if (options.github) registerArtifactsApi(options.github, service);
  return service;
}
