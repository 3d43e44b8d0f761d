import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './references.js';

/**
 * Where pgBackRest runs is one choice for every pgbackrest step of the workflows: on the runner
 * (ROLLBACK_PGBACKREST_VIA, e.g. "sudo -u postgres" or "docker compose exec -T db"), or over SSH on
 * the database host (ROLLBACK_PGBACKREST_SSH_*, secret PGBACKREST_SSH_KEY). A step that forgot the
 * SSH inputs would run pgbackrest on the runner, where the stanza is not.
 */
interface Step {
  name?: string;
  uses?: string;
  with?: Record<string, string>;
}
interface Workflow {
  on: { workflow_call?: { secrets?: Record<string, unknown> } };
  jobs: Record<string, { steps?: Step[]; outputs?: Record<string, string> }>;
}

const load = (file: string) => parseYaml(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as Workflow;

const WHERE = {
  'pgbackrest-stanza': '${{ vars.ROLLBACK_PGBACKREST_STANZA }}',
  'pgbackrest-config': '${{ vars.ROLLBACK_PGBACKREST_CONFIG }}',
  'pgbackrest-via': '${{ vars.ROLLBACK_PGBACKREST_VIA }}',
  'ssh-host': '${{ vars.ROLLBACK_PGBACKREST_SSH_HOST }}',
  'ssh-user': '${{ vars.ROLLBACK_PGBACKREST_SSH_USER }}',
  'ssh-port': '${{ vars.ROLLBACK_PGBACKREST_SSH_PORT }}',
  'ssh-key': '${{ secrets.PGBACKREST_SSH_KEY }}',
  'known-hosts': '${{ vars.ROLLBACK_PGBACKREST_KNOWN_HOSTS }}',
};

function pgBackRestSteps(workflow: Workflow): Step[] {
  return Object.values(workflow.jobs).flatMap((job) =>
    (job.steps ?? []).filter((step) => step.with?.method === 'pgbackrest'),
  );
}

describe('pgBackRest steps of the workflows', () => {
  it.each([
    ['.github/workflows/rollback.yml', 3],
    ['.github/workflows/rollback-drill.yml', 2],
    ['action-docs/examples/deploy.yml', 1],
  ])('%s: every pgbackrest step runs where the variables say, on the runner or over SSH', (file, count) => {
    const steps = pgBackRestSteps(load(file));
    expect(steps).toHaveLength(count);
    for (const step of steps) expect({ name: step.name, ...step.with }).toMatchObject({ name: step.name, ...WHERE });
  });

  it.each(['.github/workflows/rollback.yml', '.github/workflows/rollback-drill.yml'])(
    '%s declares the PGBACKREST_SSH_KEY secret it passes on',
    (file) => {
      expect(Object.keys(load(file).on.workflow_call?.secrets ?? {})).toContain('PGBACKREST_SSH_KEY');
    },
  );

  it("the deploy's restore point has the name rollback.yml's restore-backup recovers to", () => {
    const [deployPoint] = pgBackRestSteps(load('action-docs/examples/deploy.yml'));
    expect(deployPoint.with?.['restore-point']).toBe(
      "${{ inputs.environment || 'production' }}-pre-deploy-${{ steps.release.outputs.tag }}",
    );
    const pitr = pgBackRestSteps(load('.github/workflows/rollback.yml')).find((step) => step.with?.mode === 'replace');
    expect(pitr?.with?.['restore-point']).toBe(
      "${{ inputs.restore-point || format('{0}-pre-deploy-{1}', inputs.environment, needs.plan.outputs.current-tag) }}",
    );
    // The ledger's LSN of that point (compute's pre-deploy-restore-point-lsn), only for the default name.
    expect(pitr?.with?.['restore-point-lsn']).toBe(
      "${{ !inputs.restore-point && needs.plan.outputs.pre-deploy-restore-point-lsn || '' }}",
    );
    expect(load('.github/workflows/rollback.yml').jobs.plan.outputs?.['pre-deploy-restore-point-lsn']).toBe(
      '${{ steps.target.outputs.pre-deploy-restore-point-lsn }}',
    );
  });
});
