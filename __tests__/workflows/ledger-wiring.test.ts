import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './references.js';

/**
 * Every step that writes or reads the deployment ledger gets vars.ROLLBACK_LEDGER, in the shipped
 * rollback.yml and in the example deploy pipeline users copy: a step without it leaves a hole in
 * the history a rollback reads when GitHub cannot be asked (the pgBackRest restore point's LSN, a
 * smoke verdict that disqualifies a release).
 */
interface Step {
  name?: string;
  id?: string;
  uses?: string;
  with?: Record<string, string>;
}
const LEDGER_ACTIONS = /\/actions\/(backup-db|redeploy-tag|smoke-test|compute-rollback-target|restore-db)(@|$)/;

function ledgerSteps(file: string): { step: string; ledger?: string }[] {
  const workflow = parseYaml(readFileSync(path.join(REPO_ROOT, file), 'utf8')) as {
    jobs: Record<string, { steps?: Step[] }>;
  };
  return Object.entries(workflow.jobs).flatMap(([job, { steps = [] }]) =>
    steps
      .filter((step) => LEDGER_ACTIONS.test(step.uses ?? ''))
      // restore-db with pgBackRest recovers to a point by name; the ledger's LSN reaches it through the plan.
      .filter((step) => !(step.uses?.includes('restore-db') && step.with?.method === 'pgbackrest'))
      .map((step) => ({ step: `${job}.${step.id ?? step.name}`, ledger: step.with?.ledger })),
  );
}

describe('the deployment ledger in the workflows', () => {
  it.each([
    [
      '.github/workflows/rollback.yml',
      [
        'plan.target',
        'backup.backup',
        'backup.restore-point',
        'rollback.backup',
        'rollback.restore-point',
        'rollback.restore',
        'rollback.redeploy',
        'rollback.smoke',
      ],
    ],
    ['action-docs/examples/deploy.yml', ['deploy.backup', 'deploy.restore-point', 'deploy.redeploy', 'deploy.smoke']],
  ])('%s passes vars.ROLLBACK_LEDGER to every step that keeps or reads it', (file, names) => {
    const steps = ledgerSteps(file);
    expect(steps.map((step) => step.step)).toEqual(names);
    expect(steps.filter((step) => step.ledger !== '${{ vars.ROLLBACK_LEDGER }}')).toEqual([]);
  });

  it('rollback-drill.yml reads it where it reads GitHub: the last known good release and the latest backup of the label', () => {
    const reads = ledgerSteps('.github/workflows/rollback-drill.yml').filter((step) =>
      ['database.target', 'database.restore'].includes(step.step),
    );
    expect(reads).toEqual([
      { step: 'database.target', ledger: '${{ vars.ROLLBACK_LEDGER }}' },
      { step: 'database.restore', ledger: '${{ vars.ROLLBACK_LEDGER }}' },
    ]);
  });
});
