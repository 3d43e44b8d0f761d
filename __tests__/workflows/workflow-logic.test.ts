import { InputError } from '../../shared/errors.js';
import { decide } from '../../shared/workflows/decide.js';
import { drillMarkdown, drillMatrix } from '../../shared/workflows/drill.js';
import { JobResults } from '../../shared/workflows/jobs.js';
import { rollbackReport } from '../../shared/workflows/rollback-report.js';

/**
 * The logic the workflows used to carry in shell, now TypeScript: the rollback's outcome, timeline
 * and incident record, the automatic rollback's decision, and the drill's matrix. Each is a pure
 * function of the jobs' results (`toJSON(needs)`), tested here case by case; the workflow tests run
 * them for real through the actions.
 */
type Jobs = Record<string, { result: string; outputs?: Record<string, string> }>;
const results = (jobs: Jobs) =>
  JobResults.parse(
    JSON.stringify(Object.fromEntries(Object.entries(jobs).map(([id, job]) => [id, { outputs: {}, ...job }]))),
    'results',
  );

const PLAN = {
  'started-at': '2026-03-01T10:00:01.000Z',
  'detected-at': '2026-03-01T10:00:00.000Z',
  'current-tag': 'v1.2.0',
  'target-tag': 'v1.1.0',
  strategy: 'down-migrations',
  verdict: 'Revert 2 migration(s) (5, 4) with their down files to schema 3, then deploy v1.1.0.',
  'current-schema-version': '5',
  'nothing-to-roll-back': 'false',
};
const ROLLED_BACK = {
  'backup-artifact': 'db-backup-production-pre-rollback-x',
  'backup-checksum': 'a'.repeat(64),
  'backup-size': '2048',
  'backup-duration-ms': '900',
  'stopped-at': '2026-03-01T10:00:05.000Z',
  'down-outcome': 'success',
  reverted: JSON.stringify([
    { version: '5', name: 'add_project_archived' },
    { version: '4', name: 'rename_project_title' },
  ]),
  'initial-schema-version': '5',
  'final-schema-version': '3',
  'down-duration-ms': '1200',
  'redeploy-outcome': 'deployed',
  'redeploy-duration-ms': '3100',
  'up-at': '2026-03-01T10:00:09.500Z',
  'running-tag': 'v1.1.0',
  'deployment-id': '1042',
  'smoke-passed': 'true',
  'smoke-checks': JSON.stringify([{ passed: true }, { passed: true }, { passed: true }]),
  'smoke-duration-ms': '800',
  'healthy-at': '2026-03-01T10:00:10.400Z',
};

describe('the rollback report', () => {
  it('a down-migration rollback: timeline, downtime from the stop until the target answered, detection to healthy, incident record', () => {
    const report = rollbackReport({
      environment: 'production',
      reason: 'INC-42',
      dryRun: false,
      runUrl: 'https://github.com/acme/shop/actions/runs/7',
      results: results({
        plan: { result: 'success', outputs: PLAN },
        backup: { result: 'skipped' },
        rollback: { result: 'success', outputs: ROLLED_BACK },
      }),
    });
    expect(report.outcome).toBe('rolled-back');
    expect(report.detectionToHealthySeconds).toBe(10.4);
    expect(report.downtimeSeconds).toBe(4.5);
    expect(report.markdown).toContain('## ✅ production rolled back from v1.2.0 to v1.1.0');
    expect(report.markdown).toContain(
      '| Backup (before the change) | success | 0.9 s | db-backup-production-pre-rollback-x (sha256 `' +
        'a'.repeat(64) +
        '`, 2.00 KiB) |',
    );
    expect(report.markdown).toContain(
      '| Services stopped | success | – | at 10:00:05.000 UTC: no writes during the database change (the database kept running) |',
    );
    expect(report.markdown).toContain(
      '| Database | success | 1.2 s | reverted: 5 add_project_archived, 4 rename_project_title (schema 5 → 3) |',
    );
    expect(report.markdown).toContain('| Smoke test | passed | 0.8 s | 3 of 3 checks passed |');
    expect(report.markdown).toContain(
      '**Downtime: 4.5 s** (services stopped 10:00:05.000 UTC, answering again 10:00:09.500 UTC)',
    );
    expect(report.incidentRecord).toContain('Downtime:    4.5 s (services stopped for the database change)');
    expect(report.incidentRecord).toContain('Run:         https://github.com/acme/shop/actions/runs/7');
    expect(report.message).toBe(
      '✅ production rolled back from v1.2.0 to v1.1.0 in 10.4 s from detection, 4.5 s down. INC-42',
    );
  });

  it("reports the schema versions the executing action read, never the plan's figure", () => {
    const databaseRow = (
      plan: Record<string, string>,
      rollback: Record<string, string>,
      strategy = 'down-migrations',
    ) =>
      rollbackReport({
        environment: 'production',
        dryRun: false,
        results: results({
          plan: { result: 'success', outputs: { ...plan, strategy } },
          backup: { result: 'skipped' },
          rollback: { result: 'success', outputs: rollback },
        }),
      })
        .markdown.split('\n')
        .find((line) => line.startsWith('| Database |'));
    // The plan said 4 (made from git), apply-down-migrations found 5 applied: the report says 5.
    expect(databaseRow({ ...PLAN, 'current-schema-version': '4' }, ROLLED_BACK)).toContain('(schema 5 → 3)');
    // The action's own figures missing: unknown, not the plan's.
    const { 'initial-schema-version': _initial, ...withoutInitial } = ROLLED_BACK;
    expect(databaseRow(PLAN, withoutInitial)).toContain('(schema ? → 3)');
    expect(
      databaseRow(
        PLAN,
        { ...ROLLED_BACK, 'restore-outcome': 'success', 'initial-schema-version': '5', 'final-schema-version': '2' },
        'restore-backup',
      ),
    ).toContain('restored the latest pre-deploy backup of production (schema 5 → 2)');
  });

  it('an image-only rollback: no downtime planned, the backup taken alongside', () => {
    const plan = { ...PLAN, 'current-tag': 'v1.3.0', 'target-tag': 'v1.2.0', strategy: 'image-only' };
    const rollback = { ...ROLLED_BACK, 'stopped-at': '', 'backup-artifact': '', reverted: '', 'running-tag': 'v1.2.0' };
    const backup = {
      'artifact-name': 'db-backup-alongside',
      checksum: 'b'.repeat(64),
      size: '10',
      'duration-ms': '4000',
    };
    const report = rollbackReport({
      environment: 'production',
      dryRun: false,
      results: results({
        plan: { result: 'success', outputs: plan },
        backup: { result: 'success', outputs: backup },
        rollback: { result: 'success', outputs: rollback },
      }),
    });
    expect(report.outcome).toBe('rolled-back');
    expect(report.downtimeSeconds).toBeUndefined();
    expect(report.markdown).toContain('| Backup (alongside) | success | 4.0 s | db-backup-alongside');
    expect(report.markdown).toContain('| Database | skipped | – | not needed (image-only) |');
    expect(report.incidentRecord).toContain('Downtime:    none planned');
  });

  it('nothing to roll back, dry run, a failure that restarted the app, a cancelled rollback', () => {
    const nothing = rollbackReport({
      environment: 'production',
      dryRun: false,
      results: results({
        plan: { result: 'success', outputs: { ...PLAN, 'target-tag': 'v1.2.0', 'nothing-to-roll-back': 'true' } },
        backup: { result: 'skipped' },
        rollback: { result: 'skipped' },
      }),
    });
    expect(nothing.outcome).toBe('nothing-to-do');
    expect(nothing.headline).toBe('ℹ️ production: nothing to roll back (v1.2.0 is already running)');
    expect(nothing.markdown).not.toContain('| Redeploy |');

    expect(
      rollbackReport({
        environment: 'production',
        dryRun: true,
        results: results({
          plan: { result: 'success', outputs: PLAN },
          backup: { result: 'skipped' },
          rollback: { result: 'skipped' },
        }),
      }).headline,
    ).toBe('📝 Dry run: production would roll back from v1.2.0 to v1.1.0 (down-migrations)');

    const failed = rollbackReport({
      environment: 'production',
      dryRun: false,
      results: results({
        plan: { result: 'success', outputs: PLAN },
        backup: { result: 'skipped' },
        rollback: {
          result: 'failure',
          outputs: {
            'stopped-at': '2026-03-01T10:00:05.000Z',
            'down-outcome': 'failure',
            'restarted-at': '2026-03-01T10:00:07.250Z',
          },
        },
      }),
    });
    expect(failed.outcome).toBe('failed');
    expect(failed.downtimeSeconds).toBe(2.3);
    expect(failed.markdown).toContain('| Database | failure |');

    const stillDown = rollbackReport({
      environment: 'production',
      dryRun: false,
      results: results({
        plan: { result: 'success', outputs: PLAN },
        backup: { result: 'skipped' },
        rollback: { result: 'cancelled', outputs: { 'stopped-at': '2026-03-01T10:00:05.000Z' } },
      }),
    });
    expect(stillDown.outcome).toBe('cancelled');
    expect(stillDown.markdown).toContain(
      '**Downtime: still down** (services stopped 10:00:05.000 UTC and not started again: start them by hand)',
    );
  });

  it('refuses results that are not the needs context, naming the input', () => {
    expect(() => JobResults.parse('not json', 'results')).toThrow(InputError);
    expect(() => JobResults.parse('{"plan": {"result": "green"}}', 'results')).toThrow(
      'Input "results" job "plan" has result "green"; expected one of success, failure, cancelled, skipped.',
    );
  });
});

describe('the automatic rollback decision', () => {
  const latest = (state: 'success' | 'failure' | 'in_progress') => ({
    id: 7,
    ref: 'v1.3.0',
    sha: 'x',
    environment: 'production',
    createdAt: '2026-03-01T10:00:00Z',
    latestState: state,
    outcome: state,
  });
  const now = new Date('2026-03-01T10:05:00.000Z');

  it('rolls back a called deploy whatever started it: the caller says it failed, the latest deployment is not a success', () => {
    const decision = decide({
      called: true,
      environment: 'production',
      failedTag: 'v1.3.0',
      reason: 'Deploy of v1.3.0 failed its checks',
      detectedAt: '2026-03-01T10:04:00.000Z',
      latest: latest('in_progress'),
      now,
    });
    expect(decision).toMatchObject({
      rollBack: true,
      failedTag: 'v1.3.0',
      detectedAt: '2026-03-01T10:04:00.000Z',
      reason: 'Automatic rollback: Deploy of v1.3.0 failed its checks',
      latestState: 'in_progress',
    });
  });

  it('started by workflow_run: only a run that concluded failure', () => {
    const failedRun = {
      name: 'Deploy',
      conclusion: 'failure',
      html_url: 'https://github.com/acme/shop/actions/runs/9',
      updated_at: '2026-03-01T10:03:00Z',
    };
    expect(
      decide({ called: false, environment: 'production', workflowRun: failedRun, latest: latest('failure'), now }),
    ).toMatchObject({
      rollBack: true,
      failedTag: 'v1.3.0',
      detectedAt: '2026-03-01T10:03:00Z',
      reason: 'Automatic rollback: Deploy failed: https://github.com/acme/shop/actions/runs/9',
    });
    expect(
      decide({
        called: false,
        environment: 'production',
        workflowRun: { ...failedRun, conclusion: 'success' },
        latest: latest('failure'),
        now,
      }),
    ).toMatchObject({
      rollBack: false,
      explanation: 'The deploy run Deploy ended success, not failure: nothing to roll back.',
    });
  });

  it('never rolls back twice, nor an environment that has nothing deployed', () => {
    expect(
      decide({
        called: true,
        environment: 'production',
        failedTag: 'v1.3.0',
        latest: { ...latest('success'), ref: 'v1.2.0' },
        now,
      }),
    ).toMatchObject({
      rollBack: false,
      explanation: "The latest deployment of production (v1.2.0, id 7) is 'success': nothing to roll back.",
      warnings: [
        'The failed tag v1.3.0 is not the latest deployment of production (v1.2.0): rolling back from v1.3.0.',
      ],
    });
    expect(decide({ called: true, environment: 'production', now })).toMatchObject({
      rollBack: false,
      explanation: 'production has no deployments: nothing to roll back.',
      detectedAt: now.toISOString(),
    });
  });
});

describe('the drill matrix', () => {
  const database = {
    'current-tag': 'v1.2.0',
    'target-tag': 'v1.1.0',
    'restore-outcome': 'success',
    'restore-duration-ms': '1234',
    'restore-checksum': 'c'.repeat(64),
    'down-outcome': 'success',
    'down-duration-ms': '456',
    'down-verified': 'true',
    reverted: JSON.stringify([{ version: '5' }, { version: '4' }]),
    'up-outcome': 'success',
    'up-duration-ms': '789',
    'schema-outcome': 'success',
  };
  const now = new Date('2026-03-01T04:00:00.123Z');

  it('a passing drill: every scenario, its duration and details', () => {
    const matrix = drillMatrix(
      results({
        database: { result: 'success', outputs: database },
        image: {
          result: 'success',
          outputs: { image: 'ghcr.io/acme/shop:v1.1.0', result: 'present', details: 'present on the runner' },
        },
        staging: { result: 'skipped' },
      }),
      now,
    );
    expect(matrix.passed).toBe(true);
    expect(matrix.rows).toEqual([
      {
        scenario: 'Restore the latest backup',
        result: 'passed',
        'duration-s': 1.2,
        details: `sha256 ${'c'.repeat(64)}`,
        'last-tested': '2026-03-01T04:00:00Z',
        'rto-s': 1.2,
      },
      {
        scenario: 'Down migrations v1.2.0 → v1.1.0',
        result: 'passed',
        'duration-s': 0.5,
        details: 'reverted: 5, 4',
        'last-tested': '2026-03-01T04:00:00Z',
      },
      {
        scenario: 'Schema after down equals a fresh migrate-up to v1.1.0',
        result: 'passed',
        'duration-s': null,
        details: '',
        'last-tested': '2026-03-01T04:00:00Z',
      },
      {
        scenario: 'Ups re-applied: schema as restored',
        result: 'passed',
        'duration-s': 0.8,
        details: '',
        'last-tested': '2026-03-01T04:00:00Z',
      },
      {
        scenario: 'Image ghcr.io/acme/shop:v1.1.0 available on the target',
        result: 'passed',
        'duration-s': null,
        details: 'present on the runner',
        'last-tested': '2026-03-01T04:00:00Z',
      },
    ]);
    expect(drillMarkdown(matrix, 'production', 'https://run')).toContain('## ✅ Rollback drill passed: production');
  });

  it('pgBackRest: RTO and RPO on the restore row, judged against the targets; a missed or unmeasured target fails the drill', () => {
    const pitr = {
      ...database,
      'restore-method': 'pgbackrest',
      'restore-duration-ms': '42100',
      'restore-started-at': '2026-03-01T03:59:00.000Z',
      'newest-restorable-at': '2026-03-01T03:50:30.000Z',
      'backup-label': '20260301-030000F',
      'recovery-target': 'the end of backup 20260301-030000F',
    };
    const jobs = results({
      database: { result: 'success', outputs: pitr },
      image: { result: 'skipped' },
      staging: { result: 'skipped' },
    });
    const met = drillMatrix(jobs, now, { rtoMs: 60_000, rpoMs: 900_000 });
    expect(met.passed).toBe(true);
    expect(met.rows[0]).toMatchObject({
      scenario: 'Restore the pgBackRest backup into a side cluster (PITR)',
      result: 'passed',
      'duration-s': 42.1,
      'rto-s': 42.1,
      'rpo-s': 510,
      details: 'recovered to the end of backup 20260301-030000F',
    });
    expect(met.rows.slice(4, 6)).toMatchObject([
      {
        scenario: 'Recovery time (RTO) within 1m00s',
        result: 'passed',
        'duration-s': 42.1,
        details: 'the restore took 42.1s; target 1m00s',
      },
      {
        scenario: 'Recovery point (RPO) within 15m00s',
        result: 'passed',
        'duration-s': 510,
        details: 'the newest restorable state was 8m30s old; target 15m00s',
      },
    ]);
    expect(drillMarkdown(met, 'production', 'https://run')).toContain(
      'Measured: RTO 42.1s (restore until the database answered), RPO 8m30s (age of the newest restorable state).',
    );

    const missed = drillMatrix(jobs, now, { rtoMs: 30_000, rpoMs: 300_000 });
    expect(missed.passed).toBe(false);
    expect(missed.rows.slice(4, 6).map((candidate) => candidate.result)).toEqual(['failed', 'failed']);
    // Without targets both are measured and kept, and nothing is judged.
    expect(drillMatrix(jobs, now).rows.map((candidate) => candidate.scenario)).not.toContain(
      'Recovery time (RTO) within 1m00s',
    );
    const unmeasured = drillMatrix(
      results({
        database: { result: 'success', outputs: database },
        image: { result: 'skipped' },
        staging: { result: 'skipped' },
      }),
      now,
      { rpoMs: 900_000 },
    );
    expect(unmeasured).toMatchObject({ passed: false });
    expect(unmeasured.rows.find((candidate) => candidate.scenario.startsWith('Recovery point'))).toMatchObject({
      result: 'failed',
      details: 'not measured: the restore did not report it',
    });
  });

  it('fails on a schema that did not come back, a missing image, a failed set-up, or an upload that failed', () => {
    const differences = JSON.stringify({
      onlyInFirst: ['CREATE INDEX "projects_archived_idx" ON "public"."projects"'],
      onlyInSecond: [],
    });
    const broken = drillMatrix(
      results({
        database: {
          result: 'success',
          outputs: { ...database, 'schema-outcome': 'failure', 'schema-differences': differences },
        },
        image: {
          result: 'failure',
          outputs: { image: 'x:v1.1.0', result: 'missing', details: 'missing on the runner' },
        },
        staging: { result: 'skipped' },
      }),
      now,
    );
    expect(broken.passed).toBe(false);
    expect(broken.rows[3]).toMatchObject({
      result: 'failed',
      details:
        'restored but not re-created: 1; re-created but not restored: 0 (first: CREATE INDEX "projects_archived_idx" ON "public"."projects")',
    });
    expect(broken.rows[4]).toMatchObject({ result: 'failed' });

    const setUp = drillMatrix(
      results({ database: { result: 'failure' }, image: { result: 'skipped' }, staging: { result: 'skipped' } }),
      now,
    );
    expect(setUp).toMatchObject({
      passed: false,
      rows: [{ scenario: 'Drill set-up (target, backup)', result: 'failed', details: 'database job: failure' }],
    });

    const passed = drillMatrix(
      results({
        database: { result: 'success', outputs: database },
        image: { result: 'skipped' },
        staging: { result: 'skipped' },
      }),
      now,
    );
    const markdown = drillMarkdown(passed, 'production', 'https://run', [
      'The test matrix could not be kept as an artifact (the upload step failed).',
    ]);
    expect(markdown).toContain('## ❌ Rollback drill failed: production');
    expect(markdown).toContain('**The test matrix could not be kept as an artifact (the upload step failed).**');
  });
});
