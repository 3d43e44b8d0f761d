import { mainDemo } from '../../scripts/demo/main.js';
import type { DemoWorld } from '../../scripts/demo/scenario.js';

/**
 * `npm run demo` cannot hide a failure: when the drill cannot keep its test matrix (the artifact
 * service refuses the upload, as GitHub does once the storage quota is used up), the drill's
 * report job fails, the issue is still opened (its step runs whatever failed before it), and the
 * demo exits 1, naming the job that failed. (The same story without the fault is
 * demo-scenario.test.ts, which checks that no job but the broken deploy fails.)
 */
describe('npm run demo, when the drill cannot keep its matrix', () => {
  it('opens the drill issue, lists the failed job and exits 1', async () => {
    const printed: string[] = [];
    let github: DemoWorld['github'] | undefined;
    const { exitCode, failures, result } = await mainDemo({
      print: (line) => printed.push(line),
      manualRollbackTo: '',
      apiStack: false,
      prepare: (world) => {
        github = world.github;
        world.artifacts.refuseUploads = /^rollback-drill-matrix$/;
      },
    });
    expect(exitCode).toBe(1);
    const report = result.drill!.jobs.report;
    expect(report.result).toBe('failure');
    const steps = Object.fromEntries(report.steps.map((step) => [step.name, step.outcome]));
    expect(steps).toMatchObject({
      'Test matrix': 'success',
      'Keep the matrix': 'failure',
      'Open or update the drill issue': 'success',
    });
    expect(result.drill!.outputs.passed).toBe('false');
    const [issue] = github!.issues.issues;
    expect(issue).toMatchObject({ title: 'Rollback drill failed: production', labels: ['rollback-drill'] });
    expect(issue.body).toContain('**The test matrix could not be kept as an artifact (the upload step failed).**');
    expect(printed).toContain('  ✗ rollback drill: Rollback drill / report');
    expect(failures).toEqual(
      expect.arrayContaining(['the rollback drill failed', '1 job(s) failed: rollback drill: Rollback drill / report']),
    );
    expect(printed.join('\n')).toContain('Artifact storage quota has been hit');
    expect(printed.at(-1)).toMatch(/^\nnpm run demo: FAILED: /);
  }, 900_000);
});
