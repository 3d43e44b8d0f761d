import * as core from '@actions/core';
import { formatDuration } from '../../shared/duration.js';
import type { HostExecutor } from '../../shared/engine/executor.js';
import { ensureImage, registryDigest } from '../../shared/engine/images.js';
import { formatCommand, ProcessError } from '../../shared/process.js';
import type { RedeployInputs } from './inputs.js';
import type { PreparedRedeploy, RedeployReport, ServiceResult, ServiceSnapshot, ServiceTarget } from './plan.js';
import { describeReadyUrl, pollReadyUrl, unansweredReadyUrlNote } from './ready-url.js';

/**
 * Strategy "command": the user's own deploy command for platforms compose does not cover. It runs
 * as an argument array (never through a shell; over SSH each argument is quoted), with the tag in
 * the tag variable and "{tag}" in arguments replaced. The action cannot see inside the platform,
 * so ready-url is the proof it worked; with `image` the image is checked before anything runs, and
 * with previous-tag a failure runs the command again for the previous tag.
 */
const TAG_PLACEHOLDER = /\{tag\}/g;

export function commandFor(template: readonly string[], tag: string): string[] {
  return template.map((part) => part.replace(TAG_PLACEHOLDER, tag));
}

/** What the command deploys under `tag`, as far as the inputs tell: the action cannot see containers. */
function snapshot(inputs: RedeployInputs, services: readonly string[], tag: string | undefined): ServiceSnapshot[] {
  return services.map((service) => ({
    service,
    tag,
    image: inputs.image && tag ? `${inputs.image}:${tag}` : undefined,
    containerIds: [],
  }));
}

export function prepareCommand(inputs: RedeployInputs, executor: HostExecutor): PreparedRedeploy {
  const template = inputs.command!;
  const label = inputs.services.length > 0 ? inputs.services : ['command'];
  const previous = snapshot(inputs, label, inputs.previousTag);
  const targets: ServiceTarget[] = label.map((service) => ({
    service,
    image: inputs.image ? `${inputs.image}:${inputs.tag}` : undefined,
  }));
  if (!inputs.readyUrl)
    core.warning(
      'strategy "command" without ready-url: only the command\'s exit status shows whether the redeploy worked.',
    );
  return {
    host: executor.description,
    tool: formatCommand(template[0], template.slice(1)),
    previous,
    targets,
    async verify() {
      if (!inputs.image) return;
      const image = await ensureImage(executor, `${inputs.image}:${inputs.tag}`, inputs.pull);
      for (const target of targets) {
        target.imageId = image.id;
        target.digest = registryDigest(image);
        target.pulled = image.pulled;
      }
    },
    execute: (startedAt) => executeCommand(inputs, executor, label, startedAt),
  };
}

interface CommandRound {
  ok: boolean;
  failure?: string;
  readyUrlOk?: boolean;
  /** The ready-url's last answer, and whether it ever answered with any HTTP status. */
  readyUrlLast?: string;
  readyUrlAnswered?: boolean;
}

async function runOnce(
  inputs: RedeployInputs,
  executor: HostExecutor,
  tag: string,
  what: string,
  readyUrl: string | undefined,
): Promise<CommandRound> {
  const args = commandFor(inputs.command!, tag);
  const deadline = Date.now() + inputs.healthTimeoutMs;
  core.info(
    `${what}: ${formatCommand(args[0], args.slice(1))} on ${executor.description} (${inputs.tagVariable}=${tag})`,
  );
  try {
    await executor.run(args[0], args.slice(1), {
      cwd: inputs.workingDirectory,
      env: { ...inputs.envOverrides, [inputs.tagVariable]: tag },
      timeoutMs: inputs.healthTimeoutMs + 300_000,
      onStdoutLine: (line) => core.info(`  ${line}`),
      onStderrLine: (line) => core.info(`  ${line}`),
    });
  } catch (error) {
    if (error instanceof ProcessError)
      return { ok: false, failure: `the deploy command for ${tag} failed: ${error.message.split('\n')[0]}` };
    throw error;
  }
  if (!readyUrl) return { ok: true };
  const ready = await pollReadyUrl(readyUrl, deadline);
  core.info(
    `  ready-url ${describeReadyUrl(readyUrl)}: ${ready.last} after ${ready.attempts} attempt(s), ${formatDuration(ready.elapsedMs)}`,
  );
  const seen = { readyUrlLast: ready.last, readyUrlAnswered: ready.answered };
  if (!ready.ok)
    return {
      ok: false,
      readyUrlOk: false,
      failure: `ready-url ${describeReadyUrl(readyUrl)} did not answer 2xx within ${formatDuration(inputs.healthTimeoutMs)} after the deploy command for ${tag} (last: ${ready.last}).`,
      ...seen,
    };
  return { ok: true, readyUrlOk: true, ...seen };
}

async function executeCommand(
  inputs: RedeployInputs,
  executor: HostExecutor,
  services: string[],
  startedAt: number,
): Promise<RedeployReport> {
  const result = (tag: string, ready: boolean, health: string): ServiceResult[] =>
    services.map((service) => ({
      service,
      from: inputs.previousTag,
      to: tag,
      containerIds: [],
      health,
      ready,
      readyAfterMs: ready ? Date.now() - startedAt : undefined,
    }));
  const health = (readyUrlOk: boolean | undefined) =>
    readyUrlOk === undefined
      ? 'command succeeded (no ready-url)'
      : readyUrlOk
        ? 'ready-url answered 2xx'
        : 'ready-url did not answer 2xx';

  const deployed = await runOnce(inputs, executor, inputs.tag, 'Deploy', inputs.readyUrl);
  if (deployed.ok)
    return {
      success: true,
      outcome: inputs.previousTag === inputs.tag ? 'unchanged' : 'deployed',
      services: result(inputs.tag, true, health(deployed.readyUrlOk)),
      current: snapshot(inputs, services, inputs.tag),
      logs: [],
      readyUrlOk: deployed.readyUrlOk,
    };

  const failed = result(inputs.tag, false, deployed.readyUrlOk === false ? health(false) : 'command failed');
  if (inputs.onFailure !== 'restore-previous') {
    return {
      success: false,
      outcome: 'failed',
      failure: deployed.failure,
      services: failed,
      current: snapshot(inputs, services, undefined),
      logs: [],
      readyUrlOk: deployed.readyUrlOk,
    };
  }
  if (!inputs.previousTag) {
    const detail = 'nothing to restore: previous-tag was not given, and strategy "command" cannot see what ran before.';
    core.warning(`on-failure restore-previous: ${detail}`);
    return {
      success: false,
      outcome: 'failed',
      failure: deployed.failure,
      services: failed,
      current: snapshot(inputs, services, undefined),
      logs: [],
      restore: { ok: false, detail, services: [] },
      readyUrlOk: deployed.readyUrlOk,
    };
  }
  const unanswered =
    inputs.readyUrl && deployed.readyUrlAnswered === false
      ? unansweredReadyUrlNote(inputs.readyUrl, deployed.readyUrlLast ?? 'no answer')
      : undefined;
  if (unanswered) core.warning(unanswered);
  const restoreReadyUrl = unanswered ? undefined : inputs.readyUrl;
  const restored = await runOnce(inputs, executor, inputs.previousTag, 'Restore', restoreReadyUrl);
  const detail = restored.ok
    ? `ran the command again for ${inputs.previousTag}${restoreReadyUrl ? '; ready-url answers 2xx' : unanswered ? `; ${unanswered}` : ''}`
    : `restoring ${inputs.previousTag} failed too: ${restored.failure}`;
  (restored.ok ? core.info : core.error)(`on-failure restore-previous: ${detail}`);
  return {
    success: false,
    outcome: restored.ok ? 'restored' : 'failed',
    failure: deployed.failure,
    services: failed,
    current: snapshot(inputs, services, restored.ok ? inputs.previousTag : undefined),
    logs: [],
    restore: {
      ok: restored.ok,
      detail,
      services: restored.ok
        ? result(inputs.previousTag, true, health(restored.readyUrlOk)).map((entry) => ({ ...entry, from: inputs.tag }))
        : [],
    },
    readyUrlOk: deployed.readyUrlOk,
  };
}
