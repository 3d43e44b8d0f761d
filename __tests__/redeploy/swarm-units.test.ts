import { imageRepository, readsVariable } from '../../actions/redeploy-tag/swarm-strategy.js';
import { parseReplicaCounts } from '../../shared/engine/swarm-scale.js';
import { resolveServicesFromTexts } from '../../shared/engine/compose-file.js';
import { sameImage, type SwarmService, type SwarmTask } from '../../shared/engine/swarm.js';
import { eligibleNodes, probeVerdict, satisfies, type SwarmNode } from '../../shared/engine/swarm-nodes.js';
import { judgeService, type SwarmGoal } from '../../shared/engine/swarm-watch.js';

/**
 * The swarm strategy's judgements on the engine's answers, as Docker 20.10 gives them (the task and
 * update states below were read off a real swarm while updates passed, failed and rolled back).
 */
const IMAGE = 'localhost/app:v1.1.0';
const OLD = 'localhost/app:v1.2.0';

function service(update?: SwarmService['update'], replicas = 2, image = IMAGE): SwarmService {
  return {
    id: 'svc1',
    name: 'shop_api',
    image,
    reference: image,
    tag: 'v1.1.0',
    mode: 'replicated',
    replicas,
    version: 9,
    update,
    healthcheck: true,
    constraints: [],
    taskTemplate: '{}',
    monitorMs: 5_000,
    labels: {},
  };
}

function task(id: string, fields: Partial<SwarmTask>): SwarmTask {
  return {
    id,
    serviceId: 'svc1',
    image: IMAGE,
    desiredState: 'running',
    state: 'running',
    message: 'started',
    createdAt: '2026-01-01T00:00:01Z',
    updatedAt: '2026-01-01T00:00:02Z',
    ...fields,
  };
}

const goal: SwarmGoal = {
  serviceId: 'svc1',
  name: 'shop_api',
  image: IMAGE,
  expect: { kind: 'update', after: '2026-01-01T00:00:00Z' },
  knownTaskIds: new Set(['old1', 'old2']),
};
const updating = { state: 'updating', startedAt: '2026-01-01T00:01:00Z', message: 'update in progress' };
const completed = { ...updating, state: 'completed', message: 'update completed' };

describe('judging a swarm service during an update', () => {
  it('is ready only when the update this change started completed and every task runs the image', () => {
    const tasks = [
      task('new1', {}),
      task('new2', {}),
      task('old1', { image: OLD, desiredState: 'shutdown', state: 'shutdown' }),
    ];
    expect(judgeService(goal, service(completed), tasks)).toMatchObject({
      state: 'ready',
      desired: 2,
      running: 2,
      detail: `2/2 task(s) running ${IMAGE}, completed`,
    });
    // The same look with the update still running, or an older update's "completed" (not this change's): not yet.
    expect(judgeService(goal, service(updating), tasks).state).toBe('progressing');
    expect(judgeService(goal, service({ ...completed, startedAt: '2026-01-01T00:00:00Z' }), tasks)).toMatchObject({
      state: 'progressing',
      detail: expect.stringContaining('update not started yet'),
    });
  });

  it('waits while a task is starting (its healthcheck not passed yet) or an old task still runs', () => {
    const status = judgeService(goal, service(updating), [
      task('new1', { state: 'starting' }),
      task('old2', { image: OLD }),
    ]);
    expect(status.state).toBe('progressing');
    expect(status.detail).toContain('task new1 starting (waiting for its healthcheck)');
    expect(status.detail).toContain(`task old2 still runs ${OLD}`);
  });

  it("fails on a paused update, naming the swarm's message", () => {
    const paused = {
      state: 'paused',
      startedAt: updating.startedAt,
      message: 'update paused due to failure or early termination of task new1',
    };
    expect(
      judgeService(goal, service(paused), [
        task('new1', { desiredState: 'shutdown', state: 'complete', message: 'finished', exitCode: 0 }),
      ]),
    ).toMatchObject({
      state: 'failed',
      detail: 'update paused: update paused due to failure or early termination of task new1',
    });
  });

  it('fails at once on a task of this change that exited or was rejected, but not on old tasks', () => {
    const exited = judgeService(
      goal,
      service(updating),
      [
        task('new1', { desiredState: 'shutdown', state: 'failed', error: 'task: non-zero exit (3)', nodeId: 'node1' }),
        task('new2', { state: 'starting' }),
      ],
      { nodeName: () => 'vm (node1)' },
    );
    expect(exited).toMatchObject({
      state: 'failed',
      detail: 'task new1 on vm (node1) failed: task: non-zero exit (3)',
    });
    expect(exited.failedTasks.map((entry) => entry.id)).toEqual(['new1']);
    const rejected = judgeService(goal, service(updating), [
      task('new1', { desiredState: 'shutdown', state: 'rejected', error: `No such image: ${IMAGE}` }),
    ]);
    expect(rejected.detail).toBe(`task new1 was rejected: No such image: ${IMAGE}`);
    // A task that ended before the change (known) or ran another image is not this change's failure.
    expect(
      judgeService(goal, service(updating), [
        task('old1', { state: 'failed', error: 'x' }),
        task('gone', { image: OLD, state: 'failed' }),
      ]).state,
    ).toBe('progressing');
  });

  it('sees the swarm rolling back by itself (failure_action rollback), so no second rollback is sent', () => {
    const status = judgeService(
      goal,
      service({
        state: 'rollback_started',
        startedAt: '2026-01-01T00:02:00Z',
        message: 'update rolled back due to failure or early termination of task new1',
      }),
      [],
    );
    expect(status).toMatchObject({ state: 'failed', rolledBackBySwarm: true });
  });

  it('watches a rollback to its own completion', () => {
    const rollback: SwarmGoal = { ...goal, image: OLD, expect: { kind: 'rollback', after: updating.startedAt } };
    const tasks = [task('back1', { image: OLD }), task('back2', { image: OLD })];
    expect(
      judgeService(rollback, service({ state: 'rollback_started', startedAt: '2026-01-01T00:02:00Z' }, 2, OLD), tasks)
        .state,
    ).toBe('progressing');
    expect(
      judgeService(
        rollback,
        service({ state: 'rollback_completed', startedAt: '2026-01-01T00:02:00Z' }, 2, OLD),
        tasks,
      ),
    ).toMatchObject({ state: 'ready', detail: `2/2 task(s) running ${OLD}, rollback completed` });
    expect(
      judgeService(
        rollback,
        service({ state: 'rollback_paused', startedAt: '2026-01-01T00:02:00Z', message: 'rollback paused' }, 2, OLD),
        tasks,
      ).state,
    ).toBe('failed');
  });

  it('back at 0 replicas (a stopped service whose redeploy failed), is done once the spec names the previous image and no task runs', () => {
    const stopped: SwarmGoal = { ...goal, image: OLD, expect: undefined };
    const failedNew = task('new1', { image: IMAGE, state: 'failed', desiredState: 'shutdown' });
    // Before the rollback reached the spec: 0 tasks would do, but the spec still names the failed image.
    expect(judgeService(stopped, service(undefined, 0, IMAGE), [failedNew]).state).toBe('progressing');
    expect(judgeService(stopped, service(undefined, 0, OLD), [failedNew])).toMatchObject({
      state: 'ready',
      detail: `0/0 task(s) running ${OLD}`,
    });
  });

  it('with no update expected (spec unchanged), needs only the tasks; a service that is gone fails', () => {
    expect(judgeService({ ...goal, expect: undefined }, service(undefined, 1), [task('t1', {})]).state).toBe('ready');
    expect(judgeService(goal, undefined, [])).toMatchObject({
      state: 'failed',
      detail: 'service shop_api no longer exists',
    });
  });

  it('with no update to watch (started from 0 replicas), holds a new task for the monitor period before it counts', () => {
    const started: SwarmGoal = { ...goal, expect: undefined };
    const tasks = [task('new1', {}), task('old1', {})];
    const judged = (newFor: number) =>
      judgeService(started, service(undefined, 2), tasks, {
        runningForMs: (seen) => (seen.id === 'new1' ? newFor : 0),
      });
    // old1 existed before the change, so the time it has been seen running does not matter.
    expect(judged(4_999)).toMatchObject({
      state: 'progressing',
      detail:
        '2/2 task(s) running localhost/app:v1.1.0; watching task new1 for 5s after it started (update_config monitor)',
    });
    expect(judged(5_000).state).toBe('ready');
    // An update the swarm watches has its own monitor: no second wait on top.
    expect(
      judgeService(goal, service(completed), [task('new1', {}), task('new2', {})], { runningForMs: () => 0 }).state,
    ).toBe('ready');
  });

  it('counts a global service by the tasks it should run', () => {
    const global = { ...service(completed), replicas: undefined, mode: 'global' as const };
    expect(judgeService(goal, global, [task('a', {}), task('b', {}), task('c', {})])).toMatchObject({
      state: 'ready',
      desired: 3,
      running: 3,
    });
  });

  it('treats an image pinned to a digest by the manager as the same image', () => {
    expect(sameImage(`${IMAGE}@sha256:abc`, IMAGE)).toBe(true);
    expect(sameImage(`${IMAGE}@sha256:abc`, `${IMAGE}@sha256:def`)).toBe(false);
    expect(sameImage(OLD, IMAGE)).toBe(false);
  });
});

describe('which nodes must have the image', () => {
  const node = (fields: Partial<SwarmNode>): SwarmNode => ({
    id: 'n1',
    hostname: 'a',
    role: 'worker',
    ready: true,
    active: true,
    self: false,
    labels: {},
    engineLabels: {},
    os: 'linux',
    arch: 'x86_64',
    ...fields,
  });

  it('reads placement constraints as swarm does, and counts one it cannot read as satisfied', () => {
    const manager = node({ id: 'm1', role: 'manager', labels: { zone: 'a' } });
    const worker = node({ id: 'w1', labels: { zone: 'b' } });
    expect(satisfies(manager, ['node.role == manager'])).toBe(true);
    expect(satisfies(worker, ['node.role==manager'])).toBe(false);
    expect(satisfies(worker, ['node.labels.zone != a', 'node.platform.os == linux'])).toBe(true);
    expect(satisfies(manager, ['node.labels.zone != a'])).toBe(false);
    expect(satisfies(worker, ['node.labels.missing == x'])).toBe(false);
    expect(satisfies(worker, ['node.labels.missing != x'])).toBe(true);
    expect(satisfies(worker, ['node.id == w1', 'node.hostname == A'])).toBe(true);
    expect(satisfies(worker, ['something.new == x'])).toBe(true);
    expect(
      eligibleNodes([manager, worker, node({ id: 'd1', active: false }), node({ id: 'x1', ready: false })], []).map(
        (entry) => entry.id,
      ),
    ).toEqual(['m1', 'w1']);
  });

  it('reads a probe task: rejected without the image, created (and failing to start the missing entrypoint) with it', () => {
    expect(probeVerdict(task('p', { state: 'rejected', error: `No such image: ${IMAGE}` }))).toEqual({
      present: false,
      detail: `No such image: ${IMAGE}`,
    });
    expect(
      probeVerdict(
        task('p', {
          state: 'failed',
          error:
            'starting container failed: ... exec: "/rollback-actions-image-probe": stat /rollback-actions-image-probe: no such file or directory: unknown',
        }),
      ),
    ).toEqual({ present: true, detail: 'present' });
    expect(probeVerdict(task('p', { state: 'preparing' }))).toBeUndefined();
  });
});

describe('stack files', () => {
  it('knows which services take their tag from the variable, and their placement', () => {
    const text = [
      'services:',
      '  api:',
      '    image: ghcr.io/acme/api:${IMAGE_TAG}',
      '    deploy: { placement: { constraints: ["node.role == manager", "node.labels.zone == ${ZONE:-a}"] } }',
      '  web:',
      '    image: ghcr.io/acme/web:$IMAGE_TAG',
      '  db:',
      '    image: postgres:16',
      '',
    ].join('\n');
    const services = resolveServicesFromTexts([text], 'all', { IMAGE_TAG: 'v1.1.0' })!;
    expect(services.api).toMatchObject({
      image: 'ghcr.io/acme/api:v1.1.0',
      constraints: ['node.role == manager', 'node.labels.zone == a'],
    });
    expect(Object.keys(services).filter((name) => readsVariable(services[name].rawImage, 'IMAGE_TAG'))).toEqual([
      'api',
      'web',
    ]);
    expect(readsVariable('app:${IMAGE_TAG_2}', 'IMAGE_TAG')).toBe(false);
    expect(readsVariable('app:${IMAGE_TAG:-latest}', 'IMAGE_TAG')).toBe(true);
    expect(imageRepository('host:5000/acme/api:v1.2.0@sha256:abc')).toBe('host:5000/acme/api');
    expect(imageRepository('api')).toBe('api');
  });
});

describe('recorded replica counts (stop-services replicas -> redeploy-tag replicas)', () => {
  it('takes a JSON object of service name -> whole count, 0 included', () => {
    expect(parseReplicaCounts('replicas', { shop_api: 2, shop_worker: 0 })).toEqual({ shop_api: 2, shop_worker: 0 });
  });

  it('refuses anything else, naming the input', () => {
    expect(() => parseReplicaCounts('replicas', [2])).toThrow(/replicas.*JSON object of swarm service name/);
    expect(() => parseReplicaCounts('replicas', { shop_api: -1 })).toThrow(/replicas.*shop_api -1 replicas/);
    expect(() => parseReplicaCounts('replicas', { shop_api: '2' })).toThrow(/shop_api "2" replicas/);
  });
});
