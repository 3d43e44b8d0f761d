import { execFileSync } from 'node:child_process';
import { getOctokit } from '@actions/github';
import { startFakeGitHub } from '../../testkit/github-api/index.js';
import { createFixtureRepo, GIT_ENV, type FixtureRepo } from '../../testkit/fixture-repo.js';
import { compute, expectRefused, expectSuccess } from './support.js';

/**
 * Releases tagged by date (IMAGE_TAG=2025-12-15-rc1) and ordered by date or by when the tag was
 * made: tag-order and tag-pattern, against a real git repository whose tags were made in an order
 * that differs from their dates (the 2025-12-10 hotfix was tagged last).
 */
describe('compute-rollback-target with release tags that are not semver', () => {
  let repo: FixtureRepo;
  // Each release is its own commit, one day apart, tagged (lightweight) in this order.
  const CREATED_IN_ORDER = [
    '2025-12-01',
    '2025-12-08-rc1',
    '2025-12-08-rc2',
    '2025-12-08',
    '2025-12-15-rc1',
    '2025-12-15-rc2',
    '2025-12-10',
  ];
  const run = (inputs: Record<string, string>) => compute(repo.dir, inputs);

  beforeAll(() => {
    repo = createFixtureRepo(
      CREATED_IN_ORDER.map((tag) => ({ tag })),
      { extraTags: ['v1.0.0', 'nightly', '2025-13-01', 'app-20251209.rc3'], prefix: 'date-tags' },
    );
    // An annotated tag made a month later on the oldest commit: its creation time is the tagger date.
    execFileSync('git', ['-C', repo.dir, 'tag', '-a', '2025-12-20', '-m', 'late', repo.commitOf('2025-12-01')], {
      env: { ...process.env, ...GIT_ENV, GIT_COMMITTER_DATE: '2026-02-01T12:00:00Z' },
    });
  });
  afterAll(() => repo.remove());

  it('previous of 2025-12-15-rc1 is the tag before it by date: 2025-12-10, although that tag was made last', async () => {
    const result = await run({ 'tag-order': 'date', current: '2025-12-15-rc1', target: 'previous' });
    expectSuccess(result);
    expect(result.outputs).toMatchObject({
      'current-tag': '2025-12-15-rc1',
      'target-tag': '2025-12-10',
      strategy: 'image-only',
      'nothing-to-roll-back': 'false',
    });
    // A tag that looks like a date but names no day is reported, not silently taken.
    expect(result.summary).toContain(
      'Ignored tag 2025-13-01: its "date" group "2025-13-01" is not a date (YYYY-MM-DD or YYYYMMDD).',
    );
    expect(result.log).toContain('Ignoring 3 tag(s) not in the form YYYY-MM-DD[-rcN].');
  });

  it('within a day rc1 < rc2 < the final tag, and an rc is no pre-release', async () => {
    const cases: [string, string][] = [
      ['2025-12-15-rc2', '2025-12-15-rc1'],
      ['2025-12-08', '2025-12-08-rc2'],
      ['2025-12-08-rc2', '2025-12-08-rc1'],
      ['2025-12-08-rc1', '2025-12-01'],
      ['2025-12-10', '2025-12-08'],
    ];
    for (const [current, expected] of cases) {
      const result = await run({ 'tag-order': 'date', current, target: 'previous' });
      expectSuccess(result);
      expect([current, result.outputs['target-tag']]).toEqual([current, expected]);
    }
    expectRefused(
      await run({ 'tag-order': 'date', current: '2025-12-01', target: 'previous' }),
      /^Input "target" is "previous", but no release older than 2025-12-01 qualifies\./,
    );
  });

  it('an explicit target is checked against the date order', async () => {
    const older = await run({ 'tag-order': 'date', current: '2025-12-15-rc2', target: '2025-12-08-rc1' });
    expectSuccess(older);
    expect(older.outputs['target-tag']).toBe('2025-12-08-rc1');
    expectRefused(
      await run({ 'tag-order': 'date', current: '2025-12-15-rc1', target: '2025-12-15-rc2' }),
      /^Input "target" names 2025-12-15-rc2, which is newer than the current version 2025-12-15-rc1: a rollback goes to an older release\./,
    );
  });

  it('tag-order created orders by when the tags were made: the hotfix tagged after the rcs, the annotated tag by its tagger date', async () => {
    const fromHotfix = await run({
      'tag-order': 'created',
      'tag-pattern': String.raw`\d{4}-\d{2}-\d{2}(-rc\d+)?`,
      current: '2025-12-10',
      target: 'previous',
    });
    expectSuccess(fromHotfix);
    expect(fromHotfix.outputs['target-tag']).toBe('2025-12-15-rc2');
    const fromRc = await run({
      'tag-order': 'created',
      'tag-pattern': String.raw`\d{4}-\d{2}-\d{2}(-rc\d+)?`,
      current: '2025-12-15-rc1',
      target: 'previous',
    });
    expectSuccess(fromRc);
    expect(fromRc.outputs['target-tag']).toBe('2025-12-08');
    // The annotated tag counts from its tagger date, not its (oldest) commit's date.
    const fromAnnotated = await run({
      'tag-order': 'created',
      'tag-pattern': String.raw`\d{4}-\d{2}-\d{2}(-rc\d+)?`,
      current: '2025-12-20',
      target: 'previous',
    });
    expectSuccess(fromAnnotated);
    expect(fromAnnotated.outputs['target-tag']).toBe('2025-12-10');
  });

  it('a tag-pattern with its own date layout and rc group', async () => {
    const result = await run({
      'tag-order': 'date',
      'tag-pattern': String.raw`app-(?<date>\d{8})(?:\.rc(?<rc>\d+))?`,
      current: 'app-20251209.rc3',
      target: 'app-20251209.rc3',
    });
    expectSuccess(result);
    expect(result.outputs['nothing-to-roll-back']).toBe('true');
    expectRefused(
      await run({
        'tag-order': 'date',
        'tag-pattern': String.raw`app-(?<date>\d{8})(?:\.rc(?<rc>\d+))?`,
        current: 'app-20251209.rc3',
        target: 'previous',
      }),
      /^Input "target" is "previous", but no release older than app-20251209\.rc3 qualifies\./,
    );
  });

  it('a semver tag-pattern picks versions out of tags of another shape', async () => {
    const semverRepo = createFixtureRepo([{ tag: 'shop-1.9.0' }, { tag: 'shop-1.10.0' }, { tag: 'shop-1.10.1' }], {
      extraTags: ['cart-2.0.0'],
      prefix: 'semver-pattern',
    });
    try {
      const result = await compute(semverRepo.dir, {
        'tag-pattern': String.raw`shop-(?<version>.+)`,
        current: 'shop-1.10.1',
        target: 'previous',
        'same-minor': 'true',
      });
      expectSuccess(result);
      expect(result.outputs['target-tag']).toBe('shop-1.10.0');
      const numeric = await compute(semverRepo.dir, {
        'tag-pattern': String.raw`shop-(?<version>.+)`,
        current: 'shop-1.10.0',
        target: 'previous',
      });
      expectSuccess(numeric);
      expect(numeric.outputs['target-tag']).toBe('shop-1.9.0'); // 1.9.0 < 1.10.0 as versions, not as text
    } finally {
      semverRepo.remove();
    }
  });

  describe('bad patterns and orders are refused naming the input', () => {
    it.each<[string, Record<string, string>, RegExp]>([
      ['an unknown order', { 'tag-order': 'alphabetical' }, /^Input "tag-order" /],
      [
        'a pattern that does not compile',
        { 'tag-order': 'date', 'tag-pattern': '(?<date>\\d{4}' },
        /^Input "tag-pattern" is not a regular expression: "\(\?<date>\\\\d\{4\}" \(Invalid regular expression/,
      ],
      [
        'a date pattern without a date group',
        { 'tag-order': 'date', 'tag-pattern': '\\d{4}-\\d{2}-\\d{2}' },
        /^Input "tag-pattern" .* has no named group "date": with tag-order "date"/,
      ],
      [
        'a semver pattern without a version group',
        { 'tag-pattern': 'v.+' },
        /^Input "tag-pattern" "v\.\+" has no named group "version"/,
      ],
      [
        'same-minor with date tags',
        { 'tag-order': 'date', 'same-minor': 'true' },
        /^Input "same-minor" compares semantic versions, but tag-order is "date"/,
      ],
      [
        'same-major with creation order',
        { 'tag-order': 'created', current: 'v1.0.0', 'same-major': 'true' },
        /^Input "same-major" compares semantic versions, but tag-order is "created"/,
      ],
      [
        'a compatibility file with date tags',
        { 'tag-order': 'date', 'migrations-dir': '.', 'compatibility-file': 'compat.yml' },
        /^Input "compatibility-file" maps semver ranges to schemas, but tag-order is "date"/,
      ],
      [
        'a current tag outside the scheme',
        { 'tag-order': 'date', current: 'v1.0.0' },
        /^Input "current" must be a release tag in the form YYYY-MM-DD\[-rcN\] \(tag-order "date"\); got "v1.0.0", which is not one\./,
      ],
    ])('%s', async (_name, inputs, message) => {
      expectRefused(await run({ current: '2025-12-15-rc1', target: 'previous', ...inputs }), message);
    });
  });

  describe('last-successful-deployment with date tags, through the GitHub API', () => {
    const TOKEN = 'ghs_date_tags_token';
    let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
    beforeAll(async () => {
      fake = await startFakeGitHub({ token: TOKEN });
    });
    afterAll(() => fake.server.stop());

    async function deploy(ref: string, state: 'success' | 'failure'): Promise<void> {
      const api = getOctokit(TOKEN, { baseUrl: fake.server.baseUrl });
      const created = await api.rest.repos.createDeployment({
        owner: 'acme',
        repo: 'dated',
        ref,
        environment: 'production',
        auto_merge: false,
        required_contexts: [],
      });
      await api.rest.repos.createDeploymentStatus({
        owner: 'acme',
        repo: 'dated',
        deployment_id: (created.data as { id: number }).id,
        state,
      });
    }

    it("tag-order created: a tag only on GitHub counts from its release's created_at; one without a release has no creation time", async () => {
      fake.releases.addRelease('acme', 'created-app', '2025-11-30'); // created_at 2026-01-01T00:00:00Z, before every git tag
      fake.releases.addTag('acme', 'created-app', '2025-11-29');
      const result = await compute(
        repo.dir,
        {
          'github-token': TOKEN,
          'tag-order': 'created',
          'tag-pattern': String.raw`\d{4}-\d{2}-\d{2}(-rc\d+)?`,
          current: '2025-12-01',
          target: 'previous',
        },
        { env: { ...fake.server.env(), GITHUB_REPOSITORY: 'acme/created-app' } },
      );
      expectSuccess(result);
      expect(result.outputs['target-tag']).toBe('2025-11-30');
      expect(result.summary).toContain('Ignored tag 2025-11-29: its creation time is unknown');
    });

    it('the newest earlier successful deployment in date order; a failed rc and a newer release are passed over', async () => {
      await deploy('2025-12-08', 'success');
      await deploy('2025-12-15-rc2', 'success');
      await deploy('2025-12-15-rc1', 'failure');
      await deploy('2025-12-10', 'success'); // the hotfix after the bad rc: current now
      const result = await compute(
        repo.dir,
        { 'github-token': TOKEN, environment: 'production', 'tag-order': 'date', target: 'last-successful-deployment' },
        { env: { ...fake.server.env(), GITHUB_REPOSITORY: 'acme/dated' } },
      );
      expectSuccess(result);
      expect(result.outputs).toMatchObject({ 'current-tag': '2025-12-10', 'target-tag': '2025-12-08' });
      expect(result.summary).toMatch(
        /\| 2025-12-15-rc1 \(deployment \d+ \(2025-12-15-rc1\)\) \| its deployment ended failure \|/,
      );
      expect(result.summary).toMatch(
        /\| 2025-12-15-rc2 \(deployment \d+ \(2025-12-15-rc2\)\) \| newer than the current version 2025-12-10 \|/,
      );
    });
  });
});
