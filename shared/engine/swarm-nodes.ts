import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessError } from '../process.js';
import { EngineApiError } from './engine-api.js';
import type { HostExecutor } from './executor.js';
import { ImageUnavailableError, inspectImage, type LocalImage, type PullPolicy } from './images.js';
import { serviceTasks, type SwarmTask } from './swarm.js';

/**
 * Which swarm nodes will run a service, and whether an image is there for each of them before
 * anything changes. The classic failed rollback is "the old image was pruned"; on a swarm it is
 * "pruned on one node", found out when that node's task is rejected half-way through the update.
 *
 * The manager's own node is asked directly (`docker image inspect`). Other nodes cannot be asked
 * from the manager, so: when the registry serves the image, every node can pull it; otherwise a
 * probe job runs one task on each of them with the image and an entrypoint that does not exist.
 * A node without the image rejects its task ("No such image"); a node with it creates the
 * container and fails to start it, so none of the image's own code ever runs.
 */
export interface SwarmNode {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  ready: boolean;
  active: boolean;
  self: boolean;
  labels: Record<string, string>;
  engineLabels: Record<string, string>;
  os?: string;
  arch?: string;
}

interface NodeJson {
  ID: string;
  Spec: { Role: string; Availability: string; Labels?: Record<string, string> | null };
  Description: {
    Hostname: string;
    Platform?: { OS?: string; Architecture?: string };
    Engine?: { Labels?: Record<string, string> | null };
  };
  Status: { State: string };
}

export async function listNodes(executor: HostExecutor, selfId: string): Promise<SwarmNode[]> {
  const api = executor.engine?.();
  let nodes: NodeJson[];
  if (api) {
    nodes = (await api.get<NodeJson[]>('/nodes')) ?? [];
  } else {
    const { stdout: ids } = await executor.run('docker', ['node', 'ls', '-q'], { timeoutMs: 60_000 });
    const list = ids
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    nodes =
      list.length === 0
        ? []
        : (JSON.parse(
            (await executor.run('docker', ['node', 'inspect', ...list], { timeoutMs: 60_000 })).stdout,
          ) as NodeJson[]);
  }
  return nodes.map((node) => ({
    id: node.ID,
    hostname: node.Description.Hostname,
    role: node.Spec.Role === 'manager' ? 'manager' : 'worker',
    ready: node.Status.State === 'ready',
    active: node.Spec.Availability === 'active',
    self: node.ID === selfId,
    labels: node.Spec.Labels ?? {},
    engineLabels: node.Description.Engine?.Labels ?? {},
    os: node.Description.Platform?.OS,
    arch: node.Description.Platform?.Architecture,
  }));
}

export function describeNode(node: Pick<SwarmNode, 'hostname' | 'id'>): string {
  return `${node.hostname} (${node.id.slice(0, 12)})`;
}

/** The value a constraint's attribute has on a node; undefined for attributes this does not know. */
function attribute(node: SwarmNode, key: string): string | undefined | null {
  if (key === 'node.id') return node.id;
  if (key === 'node.hostname') return node.hostname;
  if (key === 'node.role') return node.role;
  if (key === 'node.platform.os') return node.os ?? null;
  if (key === 'node.platform.arch') return node.arch ?? null;
  if (key.startsWith('node.labels.')) return node.labels[key.slice('node.labels.'.length)] ?? null;
  if (key.startsWith('engine.labels.')) return node.engineLabels[key.slice('engine.labels.'.length)] ?? null;
  return undefined;
}

/**
 * Whether a node satisfies placement constraints ("node.role == manager", "node.labels.zone != b").
 * A constraint this cannot read counts as satisfied: the node is then checked for the image too,
 * which is never less safe.
 */
export function satisfies(node: SwarmNode, constraints: readonly string[]): boolean {
  return constraints.every((constraint) => {
    const match = /^\s*([\w.-]+)\s*(==|!=)\s*(.*?)\s*$/.exec(constraint);
    if (!match) return true;
    const [, key, operator, expected] = match;
    const value = attribute(node, key);
    if (value === undefined) return true;
    const equal = value !== null && value.toLowerCase() === expected.toLowerCase();
    return operator === '==' ? equal : !equal;
  });
}

/** The nodes a service with these constraints may run on: ready, active, and matching. */
export function eligibleNodes(nodes: readonly SwarmNode[], constraints: readonly string[]): SwarmNode[] {
  return nodes.filter((node) => node.ready && node.active && satisfies(node, constraints));
}

/**
 * Whether the image's registry serves it (then every node can pull it): asked by the manager's
 * engine, with its registry settings, or with `docker manifest inspect` where the executor runs.
 */
export async function registryServes(
  executor: HostExecutor,
  reference: string,
): Promise<{ ok: boolean; detail: string }> {
  const api = executor.engine?.();
  if (api) {
    return await api.get<{ Descriptor?: { digest?: string } }>(`/distribution/${reference}/json`).then(
      (answer) =>
        answer
          ? { ok: true, detail: `served as ${answer.Descriptor?.digest ?? 'a manifest'}` }
          : { ok: false, detail: 'not found' },
      (error: unknown) => {
        if (error instanceof EngineApiError) return { ok: false, detail: error.detail };
        throw error;
      },
    );
  }
  const result = await executor
    .run('docker', ['manifest', 'inspect', reference], { okExitCodes: [0, 1], timeoutMs: 120_000 })
    .catch((error: unknown) => {
      if (error instanceof ProcessError) return error.result;
      throw error;
    });
  return { ok: result.exitCode === 0, detail: (result.stderr || result.stdout).trim().split('\n').at(-1) ?? '' };
}

const PROBE_ENTRYPOINT = '/rollback-actions-image-probe';

/**
 * One task per node with the image and an entrypoint that does not exist: the task's first ending
 * on each node says whether the image was there (the container was created) or not (rejected
 * while preparing it). The probe service is removed afterwards.
 */
export async function probeNodes(
  executor: HostExecutor,
  reference: string,
  nodes: readonly SwarmNode[],
  allNodes: readonly SwarmNode[],
  timeoutMs: number,
): Promise<Map<string, { present: boolean; detail: string }>> {
  const name = `rollback-image-probe-${randomBytes(4).toString('hex')}`;
  const wanted = new Set(nodes.map((node) => node.id));
  const answers = new Map<string, { present: boolean; detail: string }>();
  // A global job on exactly these nodes: constraints cannot say "one of", so the others are excluded by id.
  const excluded = allNodes.map((node) => node.id).filter((id) => !wanted.has(id));
  await executor.run(
    'docker',
    [
      'service',
      'create',
      '--detach',
      '--quiet',
      '--name',
      name,
      '--mode',
      'global-job',
      '--restart-condition',
      'none',
      '--no-resolve-image',
      '--network',
      'host',
      '--entrypoint',
      PROBE_ENTRYPOINT,
      '--label',
      'io.rollback-actions.image-probe=true',
      ...excluded.flatMap((id) => ['--constraint', `node.id!=${id}`]),
      reference,
    ],
    { timeoutMs: 60_000 },
  );
  try {
    const deadline = Date.now() + timeoutMs;
    while (answers.size < wanted.size && Date.now() < deadline) {
      await sleep(250);
      const tasks = await serviceTasks(executor, [name]);
      // Oldest first: a node's first decisive task is its answer (the job may start more).
      for (const task of [...tasks].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
        if (!task.nodeId || answers.has(task.nodeId) || !wanted.has(task.nodeId)) continue;
        const verdict = probeVerdict(task);
        if (verdict) answers.set(task.nodeId, verdict);
      }
    }
  } finally {
    await executor
      .run('docker', ['service', 'rm', name], { okExitCodes: [0, 1], timeoutMs: 60_000 })
      .catch(() => undefined);
  }
  return answers;
}

/** What one probe task says about its node, once it says anything. */
export function probeVerdict(task: SwarmTask): { present: boolean; detail: string } | undefined {
  // Starting the missing entrypoint failed: the container, and so the image, was there.
  if (task.error?.includes(PROBE_ENTRYPOINT) || ['ready', 'starting', 'running'].includes(task.state))
    return { present: true, detail: 'present' };
  if (task.state === 'rejected' || task.state === 'failed')
    return { present: false, detail: task.error ?? `${task.state} while preparing the image` };
  return undefined;
}

export interface NodeImageCheck {
  reference: string;
  /** The image as the manager's own engine has it, when it does. */
  local?: LocalImage;
  /** How each node that will run it has it: "present", "pullable from its registry", or why not. */
  nodes: { node: SwarmNode; ok: boolean; detail: string }[];
}

/**
 * Checks that `reference` can run on every node in `nodes` per the pull policy, throwing
 * ImageUnavailableError (nothing has been changed yet) naming each node that cannot run it.
 *  - never: on every node already;
 *  - missing: on the node, or the registry serves it;
 *  - always: the registry serves it.
 */
export async function ensureImageOnNodes(
  executor: HostExecutor,
  reference: string,
  nodes: readonly SwarmNode[],
  policy: PullPolicy,
  options: { allNodes?: readonly SwarmNode[]; probeTimeoutMs?: number } = {},
): Promise<NodeImageCheck> {
  const self = nodes.find((node) => node.self);
  const others = nodes.filter((node) => !node.self);
  const local = await inspectImage(executor, reference);
  const results: NodeImageCheck['nodes'] = [];
  let registry: { ok: boolean; detail: string } | undefined;
  const askRegistry = async () => (registry ??= await registryServes(executor, reference));

  if (policy === 'always' && !(await askRegistry()).ok) {
    throw new ImageUnavailableError(
      `Image ${reference} cannot be pulled (pull is "always"): ${registry!.detail}. Nothing was changed.`,
      {
        hint: 'Check that the tag exists in the registry and that the manager can reach it, or set pull: missing to use copies already on the nodes.',
      },
    );
  }
  if (self) {
    if (local && policy !== 'always') results.push({ node: self, ok: true, detail: 'present' });
    else if (policy !== 'never' && (await askRegistry()).ok)
      results.push({ node: self, ok: true, detail: 'pullable from its registry' });
    else
      results.push({
        node: self,
        ok: false,
        detail:
          policy === 'never'
            ? 'not present (pull is "never")'
            : `not present, and its registry does not serve it (${registry?.detail ?? 'not asked'})`,
      });
  }
  let probe = others;
  if (others.length > 0 && policy !== 'never' && (await askRegistry()).ok) {
    for (const node of others) results.push({ node, ok: true, detail: 'pullable from its registry' });
    probe = [];
  }
  if (probe.length > 0) {
    const answers = await probeNodes(
      executor,
      reference,
      probe,
      options.allNodes ?? nodes,
      options.probeTimeoutMs ?? 60_000,
    );
    for (const node of probe) {
      const answer = answers.get(node.id);
      results.push({
        node,
        ok: answer?.present ?? false,
        detail: answer
          ? answer.present
            ? 'present'
            : `not present: ${answer.detail}`
          : 'no answer from the node within the time allowed',
      });
    }
  }
  const missing = results.filter((result) => !result.ok);
  if (missing.length > 0) {
    throw new ImageUnavailableError(
      `Image ${reference} is not available on ${missing.length} of the ${results.length} node(s) that would run it: ${missing.map((result) => `${describeNode(result.node)}: ${result.detail}`).join('; ')}. Nothing was changed.`,
      {
        hint: 'Load or pull the image on those nodes (or push it to a registry they can reach), or restrict the service to nodes that have it with placement constraints.',
      },
    );
  }
  return { reference, local, nodes: results };
}
