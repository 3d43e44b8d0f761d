import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  apiStackProblems,
  BROKEN_TAG,
  GOOD_TAG,
  MIGRATE_COMMAND,
  runApiStack,
  type ApiStackResult,
} from '../../scripts/demo/alembic-stack.js';
import { unexpectedFailures } from '../../scripts/demo/main.js';
import { findCalled, step } from '../../scripts/demo/scenario.js';

/**
 * The demo's second stack (`npm run demo` plays it after the first, unless `-- --one-stack`): API and jobs services from one
 * image with Alembic inside, date-tagged releases, deployed by the example deploy.yml; the broken
 * 2026-11-25-rc1 fails its smoke test and the same auto-rollback.yml and rollback.yml roll it back,
 * downgrading through `docker-compose run --rm migrate alembic` in the image being left.
 */
describe('the API stack (Alembic in the image, date tags) through the workflows', () => {
  let result: ApiStackResult;
  const lines: string[] = [];

  afterAll(() => {
    // The runner's log, when the rollback did not end where it should: which step, and why.
    if (result && apiStackProblems(result).length > 0) process.stderr.write(`${lines.join('\n')}\n`);
  });

  beforeAll(async () => {
    result = await runApiStack({
      root: mkdtempSync(path.join(os.tmpdir(), 'demo-api-stack-')),
      log: (line) => lines.push(line),
    }).catch((error: unknown) => {
      // The runner's log says which step went wrong.
      process.stderr.write(`${lines.join('\n')}\n`);
      throw error;
    });
  }, 900_000);

  it(`deploys ${GOOD_TAG}; ${BROKEN_TAG} fails at its smoke test and no other job fails`, () => {
    expect(result.deploys[GOOD_TAG].conclusion).toBe('success');
    const smoke = step(result.deploys[BROKEN_TAG].jobs.deploy, 'Smoke test');
    expect(smoke?.outcome).toBe('failure');
    // The release's own bug: /api/users selects a column no migration created.
    expect(lines.join('\n')).toMatch(/- users \(\d+ attempts?\): status: expected 200, actual 500/);
    expect(unexpectedFailures(result)).toEqual([]);
  });

  it(`rolls back on its own to the previous date tag ${GOOD_TAG}, downgrading 0007 with the image's alembic`, () => {
    expect(result.rollback).toBe(findCalled(result.deploys[BROKEN_TAG], 'rollback', 'rollback'));
    expect(result.rollback.outputs).toMatchObject({ outcome: 'rolled-back', 'target-tag': GOOD_TAG });
    expect(result.rollback.jobs.plan.outputs).toMatchObject({
      strategy: 'down-migrations',
      'migrations-format': 'alembic',
      'migrate-command': MIGRATE_COMMAND,
    });
    expect(result.rollback.jobs.plan.outputs.verdict).toContain(
      `0007 rename users.name to display_name is breaking for ${GOOD_TAG}`,
    );
    // 0007 renames users.name: breaking for the good release's code, but nothing is lost either way.
    const planned = JSON.parse(result.rollback.jobs.plan.outputs.migrations) as {
      version: string;
      class: string;
      statements: { reasons: string[] }[];
      dataLost: string[];
      revertWarnings: unknown[];
    }[];
    expect(
      planned.map(({ version, class: kind, dataLost, revertWarnings }) => ({
        version,
        kind,
        dataLost,
        revertWarnings,
      })),
    ).toEqual([{ version: '0007', kind: 'breaking', dataLost: [], revertWarnings: [] }]);
    expect(planned[0].statements.flatMap((statement) => statement.reasons).join('; ')).toContain(
      'renames column users.name to display_name',
    );
    const down = step(result.rollback.jobs.rollback, 'Revert migrations');
    expect(down?.outcome).toBe('success');
    expect(down?.outputs).toMatchObject({ 'initial-version': '0007', 'final-version': '0006' });
    expect(lines.join('\n')).toContain(`${MIGRATE_COMMAND} downgrade`);
    expect(result.state.alembicVersion).toEqual(['0006']);
  });

  it('leaves api and jobs on the same tag, /healthz and /readyz 200 (alembic_version is the head the image expects)', () => {
    expect(result.state.runningTags).toEqual({ api: GOOD_TAG, jobs: GOOD_TAG });
    expect(result.state.healthz).toEqual({ status: 200, version: GOOD_TAG });
    expect(result.state.readyz).toMatchObject({ status: 200, body: { ready: true, version: GOOD_TAG } });
    expect(result.state.jobsReadyz).toMatchObject({ status: 200, body: { ready: true, version: GOOD_TAG } });
    expect(apiStackProblems(result)).toEqual([]);
  });

  it('/readyz of the release rolled back from is not ready on the reverted schema, and says why', () => {
    expect(result.brokenReleaseOnRolledBack).toEqual({
      ready: false,
      reason: 'database at 0006, this release expects 0007',
      current: ['0006'],
      expected: ['0007'],
    });
  });

  it("the demo's own check fails when the stack did not end on the good release", () => {
    const broken: ApiStackResult = {
      ...result,
      rollback: {
        ...result.rollback,
        outputs: { ...result.rollback.outputs, outcome: 'rolled-back', 'target-tag': GOOD_TAG },
      },
      state: {
        ...result.state,
        runningTags: { api: GOOD_TAG, jobs: BROKEN_TAG },
        alembicVersion: ['0007'],
        readyz: { status: 503, body: { ready: false, reason: 'database at 0007, this release expects 0006' } },
      },
    };
    expect(apiStackProblems(broken)).toEqual([
      `API stack: jobs runs ${BROKEN_TAG}, not ${GOOD_TAG}`,
      'API stack: alembic_version 0007, not 0006',
      'API stack: /readyz 503 database at 0007, this release expects 0006',
    ]);
  });
});
