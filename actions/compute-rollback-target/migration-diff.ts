import { ActionError, InputError } from '../../shared/errors.js';
import { compareVersions, loadMigrations, versionOfFile } from '../../shared/migrations/formats.js';
import { gitRefSource } from '../../shared/migrations/sources.js';
import type { Migration, MigrationFormat } from '../../shared/migrations/types.js';
import { objectTypeAt, tagRef } from '../../shared/releases/git.js';
import type { ReleaseTag } from '../../shared/releases/release-tags.js';

/** The migrations of two releases, read from git at each tag: no checkout of either is needed. */
export interface MigrationDiff {
  /** At the current release, oldest first. */
  current: Migration[];
  /** At the target release, oldest first. */
  target: Migration[];
  /** At current but not at target, newest first: what a rollback has to undo. */
  pending: Migration[];
  /** At target but not at current (histories diverged: a hotfix branch?), oldest first. */
  onlyAtTarget: Migration[];
  /** Same version at both with a different up file: someone edited an applied migration. */
  editedSince: Migration[];
}

const FETCH_HINT = 'Check out with "fetch-depth: 0" so every release tag and its files are in the checkout.';

async function migrationsAt(
  repoRoot: string,
  release: ReleaseTag,
  dir: string,
  format: MigrationFormat,
  role: 'current' | 'target',
): Promise<Migration[]> {
  const ref = tagRef(release.tag);
  if ((await objectTypeAt(repoRoot, ref, '')) === undefined) {
    throw new ActionError(
      `Release ${release.tag} is on GitHub but not in the checkout, so its migrations cannot be read.`,
      { hint: FETCH_HINT },
    );
  }
  const type = await objectTypeAt(repoRoot, ref, dir);
  if (type === undefined) {
    // Before the directory existed a release simply had no migrations; the current release must have it.
    if (role === 'target') return [];
    throw new InputError('migrations-dir', `"${dir}" does not exist at the current release ${release.tag}.`);
  }
  if (type !== 'tree')
    throw new InputError(
      'migrations-dir',
      `"${dir}" is a ${type === 'blob' ? 'file' : type}, not a directory, at ${release.tag}.`,
    );
  try {
    return await loadMigrations(gitRefSource(repoRoot, ref, dir), format);
  } catch (error) {
    if (!(error instanceof ActionError)) throw error;
    throw new InputError(
      'migrations-format',
      `is "${format}", but "${dir}" at ${release.tag} does not read as ${format} migrations: ${error.message}`,
    );
  }
}

export async function diffMigrations(
  repoRoot: string,
  dir: string,
  format: MigrationFormat,
  current: ReleaseTag,
  target: ReleaseTag,
): Promise<MigrationDiff> {
  const atCurrent = await migrationsAt(repoRoot, current, dir, format, 'current');
  const atTarget = await migrationsAt(repoRoot, target, dir, format, 'target');
  const targetByVersion = new Map(atTarget.map((migration) => [migration.version, migration]));
  const currentVersions = new Set(atCurrent.map((migration) => migration.version));
  return {
    current: atCurrent,
    target: atTarget,
    pending: atCurrent
      .filter((migration) => !targetByVersion.has(migration.version))
      .sort((a, b) => compareVersions(b.version, a.version)),
    onlyAtTarget: atTarget.filter((migration) => !currentVersions.has(migration.version)),
    editedSince: atCurrent.filter((migration) => {
      const before = targetByVersion.get(migration.version);
      return before !== undefined && before.up?.sql !== migration.up?.sql;
    }),
  };
}

/** Checks the directory holds migrations of the declared format, so a wrong migrations-format is not read as "no migrations". */
export async function assertFormatMatches(
  repoRoot: string,
  dir: string,
  format: MigrationFormat,
  current: ReleaseTag,
  found: Migration[],
): Promise<void> {
  if (found.length > 0) return;
  const files = await gitRefSource(repoRoot, tagRef(current.tag), dir).listFiles();
  const sqlFiles = files.filter((file) => file.endsWith('.sql'));
  if (sqlFiles.length > 0) {
    const shown = sqlFiles.slice(0, 5).join(', ') + (sqlFiles.length > 5 ? ', ...' : '');
    throw new InputError(
      'migrations-format',
      `is "${format}", but none of the ${sqlFiles.length} SQL file(s) in "${dir}" at ${current.tag} is laid out that way (${shown}).`,
    );
  }
}

/**
 * The newest release tag (of those in the checkout) whose migrations directory has `version`, with
 * that migration as the tag has it; undefined when no release has it. File names are listed first
 * (one git call per tag), and only the tag that has it is read.
 */
export async function releaseHaving(
  repoRoot: string,
  dir: string,
  format: MigrationFormat,
  releases: readonly ReleaseTag[],
  version: string,
): Promise<{ release: ReleaseTag; migration: Migration } | undefined> {
  for (const release of releases.filter((candidate) => candidate.inGit)) {
    const source = gitRefSource(repoRoot, tagRef(release.tag), dir);
    const files = await source.listFiles().catch(() => [] as string[]);
    if (!files.some((file) => versionOfFile(file, format) === version)) continue;
    const migration = (await loadMigrations(source, format)).find((candidate) => candidate.version === version);
    if (migration) return { release, migration };
  }
  return undefined;
}
