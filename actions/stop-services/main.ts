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
import { readStopInputs } from './inputs.js';

export async function run(): Promise<void> {
  const inputs = readStopInputs();
  const executor = await openHostExecutor(inputs.ssh, inputs.workingDirectory);
  try {
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
