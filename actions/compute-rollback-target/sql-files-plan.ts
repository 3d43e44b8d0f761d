import { InputError } from '../../shared/errors.js';
import type { HistoryState, HistoryTable } from '../../shared/migrations/history.js';
import { qualifiedName } from '../../shared/migrations/history-table.js';
import { parseCompatFile } from '../../shared/migrations/tools/sql-files.js';
import { runProcess } from '../../shared/process.js';
import { objectTypeAt, tagRef } from '../../shared/releases/git.js';
import type { ReleaseTag } from '../../shared/releases/release-tags.js';
import type { SqlFilesInputs } from './inputs.js';

/**
 * migrations-format sql-files: hand-run files have no tool history, so the versions come from the
 * runbook. The compatibility matrix (compat-file) is read from git at the release it describes: the
 * target's schema number from the target tag's own file, the current one from the current tag's.
 * Before the suite's history table exists, the current version is stated (current-version, or the
 * matrix); compute reads only and creates nothing: apply-down-migrations does that on its first run.
 */

/** A schema version the runbook states, and where it says so (for the plan's notes and messages). */
export interface StatedVersion {
  /** Normalised ("7", not "0007"); "0" for none. */
  version: string;
  where: string;
}

const INPUT = 'compat-file';

/** The matrix's line for `release`: the tag itself, or its version (2.3.0 for v2.3.0, whatever tag-prefix). */
async function matrixLine(repoRoot: string, file: string, release: ReleaseTag): Promise<StatedVersion> {
  const ref = tagRef(release.tag);
  const type = await objectTypeAt(repoRoot, ref, file);
  if (type !== 'blob')
    throw new InputError(
      INPUT,
      `names "${file}", which is not a file at ${release.tag}: the matrix is read from each release's own tree.`,
      {
        hint: 'Commit the matrix with each release, and check out with "fetch-depth: 0" so every tag is in the checkout.',
      },
    );
  const text = (await runProcess('git', ['-C', repoRoot, 'show', `${ref}:${file}`])).stdout;
  const where = `${file} at ${release.tag}`;
  const matrix = parseCompatFile(text, INPUT, where);
  const names = [release.tag, release.version.semver?.version, release.tag.replace(/^v/, '')];
  const name = names.find((candidate) => candidate !== undefined && matrix.has(candidate));
  if (name === undefined)
    throw new InputError(
      INPUT,
      `reads ${where}, which has no line for ${release.tag} (it lists ${[...matrix.keys()].join(', ')}): the schema number of the release cannot be known.`,
    );
  const entry = new RegExp(`^["']?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`);
  const line = text.split(/\r?\n/).findIndex((raw) => entry.test(raw.trim())) + 1;
  return { version: matrix.get(name)!, where: `${where} line ${line} ("${name}: ${matrix.get(name)}")` };
}

/** The target's schema number, from the compatibility matrix as the target release has it. */
export async function statedTargetVersion(
  repoRoot: string,
  inputs: SqlFilesInputs | undefined,
  target: ReleaseTag,
): Promise<StatedVersion | undefined> {
  return inputs?.compatFile ? await matrixLine(repoRoot, inputs.compatFile, target) : undefined;
}

/**
 * The history to plan from: the suite's table when it exists (current-version must then agree with
 * it), else the stated version as apply-down-migrations will record it on its first run.
 */
export async function startingHistory(
  repoRoot: string,
  inputs: SqlFilesInputs | undefined,
  current: ReleaseTag,
  recorded: HistoryState,
  table: HistoryTable,
): Promise<{ history: HistoryState; stated?: StatedVersion }> {
  const given = inputs?.currentVersion === undefined ? undefined : String(BigInt(inputs.currentVersion));
  if (recorded.exists) {
    if (given !== undefined && given !== (recorded.current ?? '0'))
      throw new InputError(
        'current-version',
        `says version ${given}, but ${qualifiedName(table)} records ${recorded.current ?? 'none'}.`,
        { hint: 'The history table is authoritative once it exists: leave current-version out, or correct the table.' },
      );
    return { history: recorded };
  }
  const stated =
    given !== undefined
      ? { version: given, where: 'current-version' }
      : inputs?.compatFile
        ? await matrixLine(repoRoot, inputs.compatFile, current)
        : undefined;
  if (!stated) return { history: recorded };
  const version = stated.version === '0' ? null : stated.version;
  return {
    history: { exists: false, applied: version === null ? [] : [version], current: version, dirty: false },
    stated,
  };
}
