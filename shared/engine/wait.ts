import type { ContainerInfo } from './containers.js';

/**
 * Decides when redeployed services are really up: every container of the service runs the
 * expected image, is running (not restarting, restart count not growing), and is `healthy` when
 * the engine runs a healthcheck for it. A container without a healthcheck must stay up for a
 * settle time instead, so a process that crashes a second after start is not declared healthy.
 * Fails fast on a definite failure (exited, restarting, unhealthy) rather than waiting out the
 * timeout.
 */
export type ServiceState = 'ready' | 'starting' | 'missing' | 'exited' | 'restarting' | 'unhealthy';

export interface ServiceExpectation {
  service: string;
  /** Image ID the containers must run (sha256:...). */
  imageId: string;
  /** The reference, for messages. */
  image: string;
}

export interface ServiceStatus {
  service: string;
  state: ServiceState;
  /** What was seen, for people: "running, health starting", "exited with code 1". */
  detail: string;
  containers: ContainerInfo[];
}

export interface WaitResult {
  ok: boolean;
  /** The deadline passed with a service still starting (not a definite failure). */
  timedOut: boolean;
  services: ServiceStatus[];
  /** Every container listed in the last look. */
  containers: ContainerInfo[];
  /** The probe's result, when there was one and it finished. */
  probe?: ProbeResult;
  elapsedMs: number;
}

/** An outside readiness check run alongside (redeploy-tag's ready-url). */
export interface ProbeResult {
  ok: boolean;
  /** What it saw last, e.g. "HTTP 500: ...". */
  last: string;
}

const FAILED: readonly ServiceState[] = ['exited', 'restarting', 'unhealthy'];
const FIRST_LOOK_WITH_PROBE_MS = 1000;

export interface WatcherOptions {
  /** All containers that may belong to the services (labels decide which). */
  listContainers: () => Promise<ContainerInfo[]>;
  /**
   * Looks at containers already listed, by ID, in one call instead of list + inspect; undefined
   * when one has gone (the watcher lists again then).
   */
  reinspect?: (ids: string[]) => Promise<ContainerInfo[] | undefined>;
  /** How long a container without a healthcheck must stay running to count as up. */
  settleMs: number;
  pollMs?: number;
}

interface Seen {
  restartCount: number;
  startedAt: string;
  firstRunningAt?: number;
  /** How the container last ended, as seen while it was down (a restart makes some engines report 0 again). */
  lastExit?: string;
  /** When a restart was first noticed without knowing how the container had ended. */
  restartUnexplainedSince?: number;
}

/** A restart whose exit was never seen is waited on this long for the next exit, to say why it failed. */
const EXIT_REASON_WAIT_MS = 5000;

export function isServiceContainer(container: ContainerInfo, service: string): boolean {
  return (
    container.labels['com.docker.compose.service'] === service &&
    container.labels['com.docker.compose.oneoff'] !== 'True'
  );
}

export class ServiceWatcher {
  private readonly seen = new Map<string, Seen>();
  /** IDs from the last look when every service had its containers; re-inspected instead of listed. */
  private known?: string[];
  private readonly pollMs: number;

  constructor(
    private readonly expectations: readonly ServiceExpectation[],
    private readonly options: WatcherOptions,
  ) {
    this.pollMs = options.pollMs ?? 250;
  }

  private judgeContainer(container: ContainerInfo, now: number): { state: ServiceState; detail: string } {
    let seen = this.seen.get(container.id);
    if (!seen) {
      seen = { restartCount: container.restartCount, startedAt: container.startedAt };
      this.seen.set(container.id, seen);
    }
    const exit = `exit code ${container.exitCode}${container.oomKilled ? ', killed for lack of memory (OOM)' : ''}${container.error ? `: ${container.error}` : ''}`;
    if (container.restarting || (!container.running && container.status !== 'created')) seen.lastExit = exit;
    if (container.restarting)
      return { state: 'restarting', detail: `restarting after ${exit} (restart count ${container.restartCount})` };
    if (
      container.restartCount > seen.restartCount ||
      (seen.firstRunningAt !== undefined && container.startedAt !== seen.startedAt)
    ) {
      const restarted = `restarted since it was first seen (restart count ${seen.restartCount} -> ${container.restartCount}`;
      // Running again, the engine may already report exit code 0: the real one comes with the next crash.
      if (seen.lastExit === undefined && container.running && container.exitCode === 0) {
        seen.restartUnexplainedSince ??= now;
        if (now - seen.restartUnexplainedSince < EXIT_REASON_WAIT_MS)
          return { state: 'starting', detail: `${restarted}), waiting for its exit code` };
        return { state: 'restarting', detail: `${restarted}; the engine did not report how it ended)` };
      }
      return { state: 'restarting', detail: `${restarted}, last ${seen.lastExit ?? exit})` };
    }
    if (!container.running) {
      if (container.status === 'created') return { state: 'starting', detail: 'created, not started yet' };
      return { state: 'exited', detail: `${container.status} with ${exit}` };
    }
    if (seen.firstRunningAt === undefined) {
      seen.firstRunningAt = now;
      seen.startedAt = container.startedAt;
    }
    if (container.health === 'unhealthy') {
      return {
        state: 'unhealthy',
        detail: `healthcheck reports unhealthy${container.lastHealthOutput ? ` (last check: ${container.lastHealthOutput.split('\n')[0].slice(0, 200)})` : ''}`,
      };
    }
    if (container.health === 'healthy') return { state: 'ready', detail: 'running, healthy' };
    if (container.health) return { state: 'starting', detail: `running, health ${container.health}` };
    const upFor = now - seen.firstRunningAt;
    if (upFor >= this.options.settleMs)
      return { state: 'ready', detail: `running (no healthcheck), up ${Math.round(upFor / 100) / 10}s` };
    return { state: 'starting', detail: 'running (no healthcheck), settling' };
  }

  /** One look at every service; `containers` is everything listed, for a snapshot of what runs. */
  async check(now = Date.now()): Promise<{ statuses: ServiceStatus[]; containers: ContainerInfo[] }> {
    const all = (this.known && (await this.options.reinspect?.(this.known))) || (await this.options.listContainers());
    const statuses = this.expectations.map((expectation): ServiceStatus => {
      // By ID, or by reference: a tag re-pointed meanwhile (someone pulled) still names what compose ran.
      const containers = all.filter(
        (container) =>
          isServiceContainer(container, expectation.service) &&
          (container.imageId === expectation.imageId || container.image === expectation.image),
      );
      if (containers.length === 0) {
        const others = all.filter(
          (container) => isServiceContainer(container, expectation.service) && container.running,
        );
        const detail =
          others.length > 0
            ? `no container runs ${expectation.image}; running: ${others.map((container) => container.image).join(', ')}`
            : `no container runs ${expectation.image}`;
        return { service: expectation.service, state: 'missing', detail, containers: others };
      }
      const judged = containers.map((container) => ({ container, ...this.judgeContainer(container, now) }));
      // The worst container speaks for the service.
      const order: ServiceState[] = ['exited', 'restarting', 'unhealthy', 'missing', 'starting', 'ready'];
      judged.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state));
      const worst = judged[0];
      const detail =
        judged.length > 1
          ? `${worst.detail} (${judged.filter((entry) => entry.state === 'ready').length}/${judged.length} containers ready)`
          : worst.detail;
      return { service: expectation.service, state: worst.state, detail, containers };
    });
    this.known =
      this.options.reinspect && statuses.every((status) => status.state !== 'missing')
        ? all.map((container) => container.id)
        : undefined;
    return { statuses, containers: all };
  }

  /**
   * Polls until every service is ready, one has definitely failed, or the deadline passes. With a
   * probe (the ready-url), it runs alongside and must succeed too; success then needs one more
   * look at the containers started after the probe succeeded, so a container that restarted
   * meanwhile is caught, without a separate round trip when nothing did.
   */
  async waitUntilReady(
    deadline: number,
    options: {
      onProgress?: (statuses: ServiceStatus[]) => void;
      probe?: (signal: AbortSignal) => Promise<ProbeResult>;
    } = {},
  ): Promise<WaitResult> {
    const started = Date.now();
    const controller = new AbortController();
    let probe: ProbeResult | undefined;
    let probeDoneAt = Infinity;
    let wake: (() => void) | undefined;
    const probing = options.probe?.(controller.signal).then((result) => {
      probe = result;
      probeDoneAt = Date.now();
      wake?.();
    });
    const result = (
      ok: boolean,
      timedOut: boolean,
      statuses: ServiceStatus[],
      containers: ContainerInfo[],
    ): WaitResult => ({ ok, timedOut, services: statuses, containers, probe, elapsedMs: Date.now() - started });
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }).finally(() => (wake = undefined));
    try {
      // A service that answers at once needs one look at the containers, after the probe; one that
      // does not is looked at within a second anyway, to catch a crash early.
      if (probing && !probe) await sleep(FIRST_LOOK_WITH_PROBE_MS);
      for (;;) {
        const checkStartedAt = Date.now();
        const { statuses, containers } = await this.check(checkStartedAt);
        options.onProgress?.(statuses);
        if (statuses.some((status) => FAILED.includes(status.state))) return result(false, false, statuses, containers);
        if (probe && !probe.ok) return result(false, false, statuses, containers);
        const allReady = statuses.every((status) => status.state === 'ready');
        if (allReady && (!options.probe || (probe?.ok && checkStartedAt >= probeDoneAt)))
          return result(true, false, statuses, containers);
        // Ready, and the probe succeeded while this look was under way: look once more, now.
        if (allReady && probe?.ok) continue;
        if (Date.now() + this.pollMs > deadline) {
          if (probing && !probe) await probing;
          return result(false, !allReady, statuses, containers);
        }
        await sleep(this.pollMs);
      }
    } finally {
      controller.abort();
      await probing?.catch(() => undefined);
    }
  }
}
