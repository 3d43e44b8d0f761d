import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { runWorkflow } from '../../scripts/local-runner/runner.js';
import type { WorkflowRun } from '../../scripts/local-runner/types.js';
import { runProcess } from '../../shared/process.js';
import { REPO_ROOT } from '../../testkit/action-harness.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';

/**
 * The release workflow, run by the local runner against a copy of this repository whose `origin`
 * is a local bare repository: a dry run shows the tags it would push and pushes nothing; a release
 * tags vX.Y.Z, moves vX and publishes the GitHub release (on the REST API stand-in); a fix of an
 * older line leaves vX alone; and it refuses a version package.json or CHANGELOG.md does not say,
 * or one already tagged. release.yml runs it only after check-dist.
 */
const REPOSITORY = 'rollback-actions/rollback-actions';
const TOKEN = 'ghs_releaseWorkflowToken0123456789';
const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const major = `v${version.split('.')[0]}`;

describe('release workflow', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'release-workflow-'));
  let github: Awaited<ReturnType<typeof startFakeGitHub>>;
  beforeAll(async () => {
    github = await startFakeGitHub({ token: TOKEN });
  });
  afterAll(async () => {
    await github.server.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const git = async (cwd: string, ...args: string[]) =>
    (
      await runProcess(
        'git',
        [
          '-c',
          'user.name=Release Test',
          '-c',
          'user.email=release@example.com',
          '-c',
          'init.defaultBranch=main',
          ...args,
        ],
        { cwd },
      )
    ).stdout.trim();

  /**
   * A repository holding what a release reads, from this checkout as it is (package.json,
   * CHANGELOG.md, the release script), committed; and its bare `origin`, which the run pushes to.
   */
  async function repository(
    name: string,
  ): Promise<{ work: string; origin: string; commit(message: string, edit?: () => void): Promise<string> }> {
    const work = path.join(root, name, 'work');
    mkdirSync(path.join(work, '.github', 'scripts'), { recursive: true });
    for (const file of ['package.json', 'CHANGELOG.md', '.github/scripts/release.sh'])
      copyFileSync(path.join(REPO_ROOT, file), path.join(work, file));
    chmodSync(path.join(work, '.github', 'scripts', 'release.sh'), 0o755);
    await git(work, 'init', '--quiet');
    const origin = path.join(root, name, 'origin.git');
    const commit = async (message: string, edit?: () => void) => {
      edit?.();
      await git(work, 'add', '-A');
      await git(work, 'commit', '--quiet', '-m', message);
      return git(work, 'rev-parse', 'HEAD');
    };
    await commit(`release ${version}`);
    await git(root, 'clone', '--quiet', '--bare', work, origin);
    return { work, origin, commit };
  }

  /** Makes the next version: package.json and a changelog section saying it. */
  function bump(work: string, next: string, note: string): void {
    const manifest = JSON.parse(readFileSync(path.join(work, 'package.json'), 'utf8')) as { version: string };
    manifest.version = next;
    writeFileSync(path.join(work, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const changelog = readFileSync(path.join(work, 'CHANGELOG.md'), 'utf8');
    writeFileSync(
      path.join(work, 'CHANGELOG.md'),
      changelog.replace(/^## \[/m, `## [${next}]\n\n### Fixed\n\n- ${note}\n\n## [`),
    );
  }

  async function release(origin: string, inputs: { version: string; 'dry-run': boolean }): Promise<WorkflowRun> {
    return runWorkflow({
      workflowPath: path.join(REPO_ROOT, '.github', 'workflows', 'release-tags.yml'),
      workflowRepository: { name: REPOSITORY, dir: REPO_ROOT },
      repository: REPOSITORY,
      eventName: 'workflow_call',
      inputs,
      secrets: { GITHUB_TOKEN: TOKEN },
      env: { GITHUB_API_URL: github.server.baseUrl },
      repositories: { [REPOSITORY]: { dir: origin, checkout: 'clone' } },
      runRoot: mkdtempSync(path.join(root, 'run-')),
    });
  }

  /** Tag -> the commit it points to, in the bare origin. */
  async function tagsOf(origin: string): Promise<Record<string, string>> {
    const listing = await git(
      origin,
      'for-each-ref',
      '--format=%(refname:short) %(*objectname)%(objectname)',
      'refs/tags',
    );
    return Object.fromEntries(
      listing
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [tag, ids] = line.split(' ');
          return [tag, ids.length > 40 ? ids.slice(0, 40) : ids];
        }),
    );
  }

  const releasesOf = (tag: string) => github.releases.releases.filter((record) => record.tag_name === tag);

  it(`a dry run of ${version} shows the tags it would push (v${version}, ${major}) and pushes nothing`, async () => {
    const repo = await repository('dry-run');
    const head = await git(repo.work, 'rev-parse', 'HEAD');
    const run = await release(repo.origin, { version, 'dry-run': true });
    expect(run.conclusion).toBe('success');
    expect(run.outputs).toMatchObject({ tag: `v${version}`, 'major-tag': major, sha: head });
    expect(run.outputs.pushed.split('\n')).toEqual([`v${version} ([new tag])`, `${major} ([new tag])`]);
    const summary = run.jobs.tag.summary;
    expect(summary).toContain(`### Release v${version}: dry run, nothing pushed`);
    expect(summary).toContain(`Would push:\n\n- v${version} ([new tag])\n- ${major} ([new tag])`);
    expect(await tagsOf(repo.origin)).toEqual({});
    expect(releasesOf(`v${version}`)).toEqual([]);
  });

  it('a release tags vX.Y.Z, moves vX from the previous release, and publishes the changelog section', async () => {
    const repo = await repository('moves-major');
    const first = await git(repo.work, 'rev-parse', 'HEAD');
    await git(repo.work, 'tag', '-a', `v${version}`, '-m', `v${version}`);
    await git(repo.work, 'tag', major);
    await git(repo.work, 'push', '--quiet', repo.origin, `v${version}`, major);
    const next = `${major.slice(1)}.${Number(version.split('.')[1]) + 1}.0`;
    const second = await repo.commit(`release ${next}`, () => bump(repo.work, next, 'A fix worth a release.'));
    await git(repo.work, 'push', '--quiet', repo.origin, 'HEAD:main');

    const dry = await release(repo.origin, { version: next, 'dry-run': true });
    expect(dry.conclusion).toBe('success');
    expect(dry.outputs.pushed.split('\n')).toEqual([
      `v${next} ([new tag])`,
      `${major} (${first.slice(0, 7)}...${second.slice(0, 7)} (forced update))`,
    ]);
    expect((await tagsOf(repo.origin))[major]).toBe(first);

    const real = await release(repo.origin, { version: next, 'dry-run': false });
    expect(real.conclusion).toBe('success');
    expect(real.outputs).toMatchObject({ tag: `v${next}`, 'major-tag': major, sha: second });
    expect(await tagsOf(repo.origin)).toEqual({ [`v${version}`]: first, [major]: second, [`v${next}`]: second });
    expect(releasesOf(`v${next}`)).toEqual([
      expect.objectContaining({
        name: `v${next}`,
        make_latest: 'true',
        body: expect.stringContaining('- A fix worth a release.'),
      }),
    ]);
    expect(releasesOf(`v${next}`)[0].body).not.toContain(`## [${version}]`);
    expect(real.jobs.tag.summary).toContain(`### Released v${next}`);
  });

  it('a fix of an older line is tagged, and vX stays on the newest release', async () => {
    const repo = await repository('backport');
    const old = await git(repo.work, 'rev-parse', 'HEAD');
    const newer = `${major.slice(1)}.${Number(version.split('.')[1]) + 1}.0`;
    const fix = `${version.split('.').slice(0, 2).join('.')}.${Number(version.split('.')[2]) + 1}`;
    await git(repo.work, 'tag', '-a', `v${version}`, '-m', `v${version}`);
    const latest = await repo.commit(`release ${newer}`, () => bump(repo.work, newer, 'Newer line.'));
    await git(repo.work, 'tag', '-a', `v${newer}`, '-m', `v${newer}`);
    await git(repo.work, 'tag', major);
    await git(repo.work, 'checkout', '--quiet', '-b', 'release-old', old);
    const fixed = await repo.commit(`release ${fix}`, () => bump(repo.work, fix, 'Backported fix.'));
    await git(repo.work, 'push', '--quiet', '--tags', repo.origin, 'main', 'release-old');
    // The run checks out the origin's default branch: make it the old line's.
    await git(repo.origin, 'symbolic-ref', 'HEAD', 'refs/heads/release-old');

    const run = await release(repo.origin, { version: fix, 'dry-run': false });
    expect(run.conclusion).toBe('success');
    expect(run.outputs).toMatchObject({ tag: `v${fix}`, 'major-tag': '', sha: fixed });
    expect(await tagsOf(repo.origin)).toMatchObject({ [`v${fix}`]: fixed, [major]: latest });
    expect(releasesOf(`v${fix}`)).toEqual([
      expect.objectContaining({ make_latest: 'false', body: expect.stringContaining('- Backported fix.') }),
    ]);
    expect(run.jobs.tag.summary).toContain(`- \`${major}\` stays on v${newer}, the newest ${major} release.`);
  });

  it('refuses a version package.json does not say, and one already tagged, before tagging anything', async () => {
    const repo = await repository('refusals');
    const mismatch = await release(repo.origin, { version: '9.9.9', 'dry-run': false });
    expect(mismatch.conclusion).toBe('failure');
    expect(mismatch.jobs.tag.steps.find((step) => step.id === 'release')?.errors).toEqual([
      `package.json says version ${version}, not 9.9.9: bump it (and CHANGELOG.md) in a commit first.`,
    ]);
    const malformed = await release(repo.origin, { version: '1.0', 'dry-run': true });
    expect(malformed.jobs.tag.steps.find((step) => step.id === 'release')?.errors).toEqual([
      'version must be X.Y.Z (semantic version without pre-release); got "1.0".',
    ]);

    await git(repo.work, 'tag', '-a', `v${version}`, '-m', `v${version}`);
    await git(repo.work, 'push', '--quiet', repo.origin, `v${version}`);
    const again = await release(repo.origin, { version, 'dry-run': false });
    expect(again.conclusion).toBe('failure');
    expect(again.jobs.tag.steps.find((step) => step.id === 'release')?.errors[0]).toMatch(
      new RegExp(`^v${version.replace(/\./g, '\\.')} already exists \\(on [0-9a-f]{40}\\); a release tag never moves`),
    );
    expect(Object.keys(await tagsOf(repo.origin))).toEqual([`v${version}`]);
    expect(releasesOf('v9.9.9')).toEqual([]);
  });

  it('release.yml tags only after check-dist rebuilt dist/ and found it equal, and passes its inputs through', () => {
    const workflow = parseYaml(readFileSync(path.join(REPO_ROOT, '.github', 'workflows', 'release.yml'), 'utf8')) as {
      on: { workflow_dispatch: { inputs: Record<string, { type: string; required?: boolean }> } };
      jobs: Record<
        string,
        { uses?: string; needs?: string; with?: Record<string, string>; permissions?: Record<string, string> }
      >;
    };
    expect(workflow.on.workflow_dispatch.inputs).toMatchObject({
      version: { type: 'string', required: true },
      'dry-run': { type: 'boolean' },
    });
    expect(workflow.jobs['check-dist'].uses).toBe('./.github/workflows/check-dist.yml');
    expect(workflow.jobs.release).toEqual({
      name: 'Tag and publish',
      needs: 'check-dist',
      permissions: { contents: 'write' },
      uses: './.github/workflows/release-tags.yml',
      with: { version: '${{ inputs.version }}', 'dry-run': '${{ inputs.dry-run }}' },
    });
    const checkDist = readFileSync(path.join(REPO_ROOT, '.github', 'workflows', 'check-dist.yml'), 'utf8');
    expect(checkDist).toContain('run: npm run check-dist');
  });
});
