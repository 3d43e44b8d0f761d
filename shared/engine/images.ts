import { ActionError } from '../errors.js';
import { lastLines, ProcessError } from '../process.js';
import type { HostExecutor } from './executor.js';

/**
 * Whether an image is on the engine, and getting it there per the `pull` policy, before anything
 * is stopped: the classic failed rollback is "the old image was pruned", found out only after the
 * running container was already gone.
 */
export type PullPolicy = 'always' | 'missing' | 'never';

export interface LocalImage {
  reference: string;
  /** Image ID, sha256:... */
  id: string;
  /** Registry digests (repo@sha256:...), when the image came from or went to a registry. */
  repoDigests: string[];
}

export interface EnsuredImage extends LocalImage {
  pulled: boolean;
}

const MISSING = /no such image|failed to find image|image not known|not found/i;

export async function inspectImage(executor: HostExecutor, reference: string): Promise<LocalImage | undefined> {
  const api = executor.engine?.();
  if (api) {
    const image = await api.get<{ Id: string; RepoDigests?: string[] | null }>(`/images/${reference}/json`);
    return image && { reference, id: image.Id, repoDigests: image.RepoDigests ?? [] };
  }
  const result = await executor.run(
    'docker',
    ['image', 'inspect', '--format', '{{json .Id}} {{json .RepoDigests}}', reference],
    { okExitCodes: [0, 1], timeoutMs: 60_000 },
  );
  if (result.exitCode !== 0) {
    if (MISSING.test(result.stderr)) return undefined;
    throw new ProcessError(
      `docker image inspect ${reference} (on ${executor.description})`,
      result,
      `exited with code ${result.exitCode}`,
    );
  }
  const [idJson, ...digestsJson] = result.stdout.trim().split(' ');
  const digests = JSON.parse(digestsJson.join(' ') || 'null') as string[] | null;
  return { reference, id: JSON.parse(idJson) as string, repoDigests: digests ?? [] };
}

/**
 * The registry digest (sha256:...) of a local image, from its RepoDigests: the one of the reference's
 * own repository when there are several. Undefined for an image that never came from or went to a
 * registry (built or loaded locally), which has none.
 */
export function registryDigest(image: LocalImage): string | undefined {
  const repository = image.reference.replace(/@.*$/, '').replace(/:[^:/]+$/, '');
  const chosen = image.repoDigests.find((entry) => entry.startsWith(`${repository}@`)) ?? image.repoDigests[0];
  return chosen?.split('@')[1];
}

export class ImageUnavailableError extends ActionError {}

async function pull(
  executor: HostExecutor,
  reference: string,
  timeoutMs: number,
): Promise<{ ok: boolean; detail: string }> {
  const result = await executor
    .run('docker', ['pull', '--quiet', reference], { okExitCodes: [0, 1, 125], timeoutMs })
    .catch((error: unknown) => {
      if (error instanceof ProcessError) return error.result;
      throw error;
    });
  return { ok: result.exitCode === 0, detail: lastLines((result.stderr || result.stdout).trim(), 5) };
}

/**
 * Makes sure `reference` is on the engine, or throws ImageUnavailableError saying why and what to do.
 * `knownAbsent`: the caller's own `docker image inspect` just found no such image, so it is not asked again.
 */
export async function ensureImage(
  executor: HostExecutor,
  reference: string,
  policy: PullPolicy,
  options: { timeoutMs?: number; knownAbsent?: boolean } = {},
): Promise<EnsuredImage> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const where = executor.description;
  if (policy !== 'always') {
    const present = options.knownAbsent ? undefined : await inspectImage(executor, reference);
    if (present) return { ...present, pulled: false };
    if (policy === 'never') {
      throw new ImageUnavailableError(
        `Image ${reference} is not on the engine on ${where}, and pull is "never". Nothing was stopped.`,
        {
          hint: 'Load or pull the image on that host first, or set pull: missing to pull it from its registry.',
        },
      );
    }
  }
  const pulled = await pull(executor, reference, timeoutMs);
  if (!pulled.ok) {
    const fallback = policy === 'always' ? await inspectImage(executor, reference) : undefined;
    throw new ImageUnavailableError(
      `Image ${reference} could not be pulled on ${where}${policy === 'missing' ? ' and is not there already' : ''}. Nothing was stopped.${pulled.detail ? `\n${pulled.detail}` : ''}`,
      {
        hint: fallback
          ? 'A local copy exists: set pull: missing to deploy it without reaching the registry.'
          : 'Check that the tag exists in the registry (it may have been deleted by a retention policy) and that the host is logged in to it.',
      },
    );
  }
  const image = await inspectImage(executor, reference);
  if (!image)
    throw new ImageUnavailableError(
      `docker pull ${reference} succeeded on ${where}, but the engine does not list the image afterwards.`,
    );
  return { ...image, pulled: true };
}
