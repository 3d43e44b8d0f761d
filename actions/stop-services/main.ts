import * as core from '@actions/core';
import {
  composeContainerIds,
  composeStopStart,
  detectCompose,
  type ComposeProject,
} from '../../shared/engine/compose.js';
import { openHostExecutor } from '../../shared/engine/host-inputs.js';
import { ActionError } from '../../shared/errors.js';
import { emitEvent } from '../../shared/events.js';
import { setOutputs } from '../../shared/outputs.js';
import { markdownTable, writeSummary } from '../../shared/summary.js';
import { readStopInputs, type StopInputs } from './inputs.js';
import type { HostExecutor } from '../../shared/engine/executor.js';
import { requireSwarmManager } from '../../shared/engine/swarm.js';
import { startSwarmServices, stopSwarmServices } from '../../shared/engine/swarm-scale.js';

export async function run(): Promise<void> {
  const inputs = readStopInputs();
  const executor = await openHostExecutor(inputs.ssh, inputs.workingDirectory);
  try {
    if (inputs.strategy === 'swarm') return await stopOrStartSwarm(inputs, executor);
    const project: ComposeProject = {
      cli: await detectCompose(executor),
      files: inputs.composeFiles,
      projectName: inputs.projectName,
      workingDirectory: inputs.workingDirectory,
    };
    const services = [];
    for (const service of inputs.services)
      services.push({ service, containers: await composeContainerIds(executor, project, [service]) });
    const missing = services.filter((entry) => entry.containers.length === 0).map((entry) => entry.service);
    if (missing.length > 0 && !inputs.start) {
      throw new ActionError(
        `No container of service(s) ${missing.join(', ')} exists in compose project ${inputs.projectName ?? '(compose default)'} on ${executor.description}: nothing to stop there.`,
        {
          hint: 'Check services, project-name and working-directory: they must name the app as redeploy-tag deploys it.',
        },
      );
    }
    const verb = inputs.start ? 'start' : 'stop';
    const started = Date.now();
    await composeStopStart(executor, project, verb, inputs.services, { onLine: (line) => core.info(line) });
    const at = new Date().toISOString();
    const durationMs = Date.now() - started;
    core.info(
      `${inputs.start ? 'Started' : 'Stopped'} ${inputs.services.join(', ')} on ${executor.description} at ${at} (${durationMs} ms).`,
    );
    emitEvent(inputs.start ? 'services_started' : 'services_stopped', {
      services: inputs.services,
      host: executor.description,
      at,
      duration_ms: durationMs,
    });
    setOutputs({ at, services, 'duration-ms': durationMs });
    await writeSummary(
      `### ${inputs.start ? 'Services started again' : 'Services stopped for the database change'}\n\n` +
        markdownTable(
          ['Service', 'Containers', inputs.start ? 'Started at' : 'Stopped at'],
          services.map((entry) => [entry.service, entry.containers.map((id) => id.slice(0, 12)).join(', '), at]),
        ),
    );
  } finally {
    await executor.close?.();
  }
}

/**
 * Swarm services: stopped by scaling each to 0 replicas and waiting until none of its tasks is
 * left (the counts it had go out as replicas, for redeploy-tag to restore at the target tag);
 * started again by scaling back to those counts, at the image they have.
 */
async function stopOrStartSwarm(inputs: StopInputs, executor: HostExecutor): Promise<void> {
  await requireSwarmManager(executor);
  const started = Date.now();
  const onLine = (line: string) => core.info(line);
  const replicas = inputs.start
    ? (await startSwarmServices(executor, inputs.replicas!, { timeoutMs: inputs.timeoutMs, onLine }), inputs.replicas!)
    : await stopSwarmServices(executor, inputs.swarmServices, { timeoutMs: inputs.timeoutMs, onLine });
  const at = new Date().toISOString();
  const durationMs = Date.now() - started;
  const names = Object.keys(replicas);
  core.info(
    `${inputs.start ? 'Scaled back' : 'Scaled to 0 (no task left)'}: ${names.join(', ')} on ${executor.description} at ${at} (${durationMs} ms).`,
  );
  emitEvent(inputs.start ? 'services_started' : 'services_stopped', {
    services: names,
    host: executor.description,
    at,
    duration_ms: durationMs,
  });
  setOutputs({
    at,
    services: names.map((service) => ({ service, replicas: replicas[service] })),
    replicas,
    'duration-ms': durationMs,
  });
  await writeSummary(
    `### ${inputs.start ? 'Swarm services scaled back' : 'Swarm services scaled to 0 for the database change'}\n\n` +
      markdownTable(
        [
          'Service',
          inputs.start ? 'Replicas now' : 'Replicas recorded (restored by the redeploy)',
          inputs.start ? 'Started at' : 'Stopped at',
        ],
        names.map((service) => [service, String(replicas[service]), at]),
      ),
  );
}
