import * as core from '@actions/core';
import { formatDuration } from '../../shared/duration.js';
import type { HostExecutor } from '../../shared/engine/executor.js';
import { openHostExecutor } from '../../shared/engine/host-inputs.js';
import { ActionError, errorMessage } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { appendLedger } from '../../shared/ledger/ledger.js';
import { setOutputs } from '../../shared/outputs.js';
import { writeSummary } from '../../shared/summary.js';
import { prepareCommand } from './command-strategy.js';
import { prepareCompose } from './compose-strategy.js';
import { prepareSwarm } from './swarm-strategy.js';
import { startDeploymentRecord, type DeploymentRecorder } from './deployment.js';
import { readRedeployInputs, type RedeployInputs } from './inputs.js';
import { commonTag, RefusedError, type PreparedRedeploy, type RedeployReport } from './plan.js';
import { redeployOutputs, redeploySummary, type Totals } from './report.js';

/** One module per strategy, behind PreparedRedeploy. */
const STRATEGIES: Record<
  RedeployInputs['strategy'],
  (inputs: RedeployInputs, executor: HostExecutor) => Promise<PreparedRedeploy> | PreparedRedeploy
> = {
  compose: prepareCompose,
  swarm: prepareSwarm,
  command: prepareCommand,
};

/** One ledger line per deploy or rollback that ran (not for refusals, which changed nothing). A ledger that cannot be written is a warning: the services are deployed either way. */
async function recordInLedger(
  inputs: RedeployInputs,
  executor: HostExecutor,
  entry: {
    from?: string;
    outcome: string;
    success: boolean;
    services: string[];
    report?: RedeployReport;
    deploymentId?: number;
  },
): Promise<void> {
  if (!inputs.ledger) return;
  const now = entry.report?.current.find((snapshot) => snapshot.imageId);
  try {
    await appendLedger(
      { path: inputs.ledger, executor },
      {
        type: 'deploy',
        environment: inputs.environment,
        tag: inputs.tag,
        from: entry.from,
        outcome: entry.outcome,
        success: entry.success,
        services: entry.services,
        image: now?.image,
        imageId: now?.imageId,
        digest: now?.digest,
        githubDeploymentId: entry.deploymentId,
      },
    );
  } catch (error) {
    core.warning(errorMessage(error));
  }
}

async function finish(
  plan: PreparedRedeploy | undefined,
  report: RedeployReport | undefined,
  totals: Totals,
  refusal?: string,
): Promise<void> {
  setOutputs(redeployOutputs(plan, report, totals));
  await writeSummary(redeploySummary(plan, report, totals, refusal));
}

export async function run(): Promise<void> {
  const startedAt = Date.now();
  const inputs = readRedeployInputs();
  const executor = await openHostExecutor(inputs.ssh, inputs.workingDirectory);
  let plan: PreparedRedeploy | undefined;
  try {
    plan = await STRATEGIES[inputs.strategy](inputs, executor);
    const from = commonTag(plan.previous);
    // What is redeployed, as the strategy resolved it (a stack's services, or "command").
    const services = inputs.strategy === 'command' ? inputs.services : plan.targets.map((target) => target.service);
    const label = services.join(', ') || 'command';
    const ofWhat = services.length > 0 ? ` of ${label}` : '';
    core.info(`${label} on ${plan.host} (${plan.tool}): ${from ?? '(nothing running)'} -> ${inputs.tag}`);
    // A verify-only run starts no rollback: no events.
    const event = inputs.verifyOnly ? () => undefined : emitEvent;
    event('rollback_start', {
      from: from ?? null,
      to: inputs.tag,
      services,
      strategy: inputs.strategy,
      host: plan.host,
      environment: inputs.environment,
    });

    const refused = async (error: unknown, deployment?: DeploymentRecorder): Promise<never> => {
      const durationMs = Date.now() - startedAt;
      await deployment?.finish(false, `${inputs.tag} refused, nothing changed: ${errorMessage(error)}`);
      event('rollback_complete', {
        from: from ?? null,
        to: inputs.tag,
        success: false,
        outcome: 'refused',
        duration_ms: durationMs,
        duration: formatDuration(durationMs),
        deployment_id: deployment?.id,
      });
      await finish(
        plan,
        undefined,
        { tag: inputs.tag, durationMs, deploymentId: deployment?.id, outcome: 'refused' },
        errorMessage(error),
      );
      throw error;
    };
    try {
      await plan.verify();
    } catch (error) {
      await refused(error);
    }

    if (inputs.verifyOnly) {
      await finish(plan, undefined, { tag: inputs.tag, durationMs: Date.now() - startedAt, outcome: 'verified' });
      core.info(`verify-only: the image of ${inputs.tag} is available where ${label} would run; nothing was changed.`);
      return;
    }

    let deployment: DeploymentRecorder | undefined;
    if (inputs.environment && inputs.githubToken) {
      deployment = await startDeploymentRecord({
        token: inputs.githubToken,
        environment: inputs.environment,
        tag: inputs.tag,
        description: `redeploy-tag: ${label} ${from ?? '(none)'} -> ${inputs.tag}`,
        payload: { from: from ?? null, to: inputs.tag, services, strategy: inputs.strategy, host: plan.host },
        environmentUrl: inputs.environmentUrl,
        complete: inputs.completeDeployment,
        ledger: inputs.ledger,
      });
    } else if (inputs.environment)
      core.info(
        `No github-token: this deploy is recorded in the ledger ${inputs.ledger} only, without a GitHub deployment (\`rollback-actions sync\` records it on GitHub later).`,
      );

    let report: RedeployReport;
    try {
      report = await plan.execute(startedAt);
    } catch (error) {
      if (error instanceof RefusedError) await refused(error, deployment);
      // An engine or SSH failure half-way: the state is unknown, so no restore is attempted, but the
      // record must not say "in progress" forever, and the event stream must see the end.
      const durationMs = Date.now() - startedAt;
      const message = errorMessage(error);
      await deployment?.finish(false, `${inputs.tag} failed: ${message}`);
      await recordInLedger(inputs, executor, {
        from,
        outcome: 'error',
        success: false,
        services,
        deploymentId: deployment?.id,
      });
      emitEvent('rollback_complete', {
        from: from ?? null,
        to: inputs.tag,
        success: false,
        outcome: 'error',
        error: message,
        duration_ms: durationMs,
        duration: formatDuration(durationMs),
        deployment_id: deployment?.id,
      });
      await finish(
        plan,
        undefined,
        { tag: inputs.tag, durationMs, deploymentId: deployment?.id, outcome: 'error' },
        `the redeploy stopped half-way, with the services in an unknown state: ${message}`,
      ).catch(() => undefined);
      const hint = error instanceof ActionError && error.hint ? `${error.hint} ` : '';
      throw new ActionError(`Redeploy${ofWhat} to ${inputs.tag} stopped half-way: ${message}`, {
        hint: `${hint}The services may run either version, or none: look at them before running this again.`,
        cause: error,
      });
    }
    const durationMs = Date.now() - startedAt;
    const description = report.success
      ? `${inputs.tag} is running and healthy (${formatDuration(durationMs)})`
      : `${inputs.tag} failed${report.restore ? (report.restore.ok ? `; ${from ?? 'previous'} restored` : '; restore failed') : ''}: ${report.failure ?? ''}`;
    await deployment?.finish(report.success, description);
    await recordInLedger(inputs, executor, {
      from,
      outcome: report.outcome,
      success: report.success,
      services,
      report,
      deploymentId: deployment?.id,
    });
    const now = commonTag(report.current);
    emitEvent('rollback_complete', {
      from: from ?? null,
      to: inputs.tag,
      success: report.success,
      outcome: report.outcome,
      running: now ?? null,
      restored: report.restore ? report.restore.ok : undefined,
      duration_ms: durationMs,
      duration: formatDuration(durationMs),
      deployment_id: deployment?.id,
    });
    await finish(plan, report, {
      tag: inputs.tag,
      durationMs,
      deploymentId: deployment?.id,
      deploymentPending: deployment?.id !== undefined && report.success && !inputs.completeDeployment,
    });
    if (!report.success) {
      const restore = report.restore
        ? `\n${report.restore.ok ? 'Restored' : 'Restore FAILED'}: ${report.restore.detail}.`
        : '';
      throw new ActionError(`Redeploy${ofWhat} to ${inputs.tag} failed: ${report.failure}${restore}`, {
        hint: report.hint,
      });
    }
    core.info(
      `${label} ${report.outcome === 'unchanged' ? 'already ran' : 'now runs'} ${inputs.tag}, healthy, in ${formatDuration(durationMs)}.`,
    );
  } finally {
    await executor.close?.();
  }
}
