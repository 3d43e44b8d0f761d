import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runAction } from '../../testkit/action-harness.js';
import { startFakeGitHub } from '../../testkit/github-api/index.js';

/**
 * A failed drill opens (or comments on) the rollback-drill issue. When GitHub does not answer (an
 * outage, or the rollback-actions command run while GitHub is down), no issue tracks it: the step
 * still fails, and its error says why and where the matrix is. The bundled dist/ against the GitHub
 * API stand-in, running and then stopped.
 */
const TOKEN = 'ghs_drill_report_token';
// A drill whose restore failed: the down migrations never ran.
const FAILED_DRILL = JSON.stringify({
  database: {
    result: 'failure',
    outputs: { 'current-tag': 'v1.2.0', 'target-tag': 'v1.1.0', 'restore-outcome': 'failure' },
  },
  image: { result: 'skipped', outputs: {} },
  staging: { result: 'skipped', outputs: {} },
});

describe('drill-report: the drill issue when GitHub does not answer', () => {
  let fake: Awaited<ReturnType<typeof startFakeGitHub>>;
  let matrixDir: string;

  beforeAll(async () => {
    fake = await startFakeGitHub({ token: TOKEN });
    matrixDir = mkdtempSync(path.join(os.tmpdir(), 'rollback-test-drill-matrix-'));
  });
  afterAll(async () => {
    await fake.server.stop();
    rmSync(matrixDir, { recursive: true, force: true });
  });

  const report = (env: Record<string, string>, inputs: Record<string, string> = {}) =>
    runAction('drill-report', {
      env,
      githubToken: TOKEN,
      inputs: {
        results: FAILED_DRILL,
        environment: 'production',
        'open-issue': 'true',
        'matrix-dir': matrixDir,
        'upload-outcome': 'success',
        ...inputs,
      },
    });

  it('opens the issue while GitHub answers; with the stand-in stopped, fails saying the issue could not be opened and where the matrix is', async () => {
    const answered = await report(fake.server.env());
    expect(answered.errors).toEqual([]);
    expect(answered.exitCode).toBe(0);
    expect(fake.issues.issues.map((issue) => [issue.title, issue.labels])).toEqual([
      ['Rollback drill failed: production', ['rollback-drill']],
    ]);

    const gone = fake.server.env();
    await fake.server.stop();
    try {
      const kept = await report(gone);
      expect(kept.exitCode).toBe(1);
      expect(kept.errors).toEqual([
        expect.stringMatching(
          /^The drill failed, and its rollback-drill issue could not be opened because GitHub did not answer while listing open rollback-drill issues: .*ECONNREFUSED.*\. The test matrix is in this job's summary and in the matrix artifact \(from the rollback-actions command: the artifacts folder of its record\)\.\nHint: Open or update the rollback-drill issue from that matrix once GitHub answers \(or rerun this job\)\.$/s,
        ),
      ]);
      // The matrix could not be kept as an artifact either: its files on this runner are named instead.
      const notKept = await report(gone, { 'upload-outcome': 'failure' });
      expect(notKept.exitCode).toBe(1);
      expect(notKept.errors).toEqual([
        expect.stringContaining(
          `. The test matrix is in this job's summary and in ${matrixDir} on this runner (matrix.json, matrix.md; it was not kept as an artifact).`,
        ),
      ]);
    } finally {
      await fake.server.start();
    }
    // Nothing was opened or commented on while GitHub was down.
    expect(fake.issues.issues.map((issue) => issue.comments.length)).toEqual([0]);
  });

  it('from the rollback-actions command with GitHub down at its start (no token): the same clear failure, naming github-token', async () => {
    const result = await runAction('drill-report', {
      env: fake.server.env(),
      githubToken: '',
      inputs: { results: FAILED_DRILL, environment: 'production', 'open-issue': 'true', 'upload-outcome': 'success' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors).toEqual([
      expect.stringMatching(
        /^Input "github-token" is empty, so the failed drill's rollback-drill issue could not be opened \(from the rollback-actions command: GitHub did not answer when it started\)\. The test matrix is in this job's summary and in the matrix artifact/,
      ),
    ]);
  });
});
