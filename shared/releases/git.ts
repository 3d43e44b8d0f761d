import { ActionError } from '../errors.js';
import { runProcess } from '../process.js';
import type { TagObservation } from './release-tags.js';

/** What a rollback needs to know about the checkout it reads tags and migrations from. */
export interface RepositoryInfo {
  /** The work tree's top directory. */
  root: string;
  /** A shallow clone (actions/checkout's default fetch-depth: 1) lacks older tags and their files. */
  shallow: boolean;
}

const SAFE_DIRECTORY_HINT =
  'git refuses repositories owned by another user: run `git config --global --add safe.directory <path>` first (actions/checkout does this for you).';

/** Undefined when `dir` is not inside a git work tree. */
export async function inspectRepository(dir: string): Promise<RepositoryInfo | undefined> {
  const result = await runProcess('git', ['-C', dir, 'rev-parse', '--show-toplevel', '--is-shallow-repository'], {
    okExitCodes: [0, 128],
  });
  if (result.exitCode !== 0) {
    if (/dubious ownership/.test(result.stderr))
      throw new ActionError(`git will not read ${dir}: ${result.stderr.trim()}`, { hint: SAFE_DIRECTORY_HINT });
    return undefined;
  }
  const [root, shallow] = result.stdout.trim().split('\n');
  return { root, shallow: shallow === 'true' };
}

/** Every tag with the commit it points at (annotated tags peeled) and when it was made (tagger date, or the commit's date for a lightweight tag). */
export async function listGitTags(repoDir: string): Promise<TagObservation[]> {
  const { stdout } = await runProcess('git', [
    '-C',
    repoDir,
    'for-each-ref',
    '--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)%00%(creatordate:unix)',
    'refs/tags',
  ]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [tag, object, peeled, created] = line.split('\0');
      return { tag, source: 'git' as const, commit: peeled || object, created: created ? Number(created) : undefined };
    });
}

/** The git object type of `path` at `ref` ("tree", "blob"), or undefined when it does not exist there. */
export async function objectTypeAt(repoDir: string, ref: string, path: string): Promise<string | undefined> {
  const spec = path === '' ? `${ref}^{tree}` : `${ref}:${path}`;
  const result = await runProcess('git', ['-C', repoDir, 'cat-file', '-t', spec], { okExitCodes: [0, 128] });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** The fully qualified ref of a tag, so a branch of the same name can never be picked instead. */
export function tagRef(tag: string): string {
  return `refs/tags/${tag}`;
}
