import type { ContainerInfo } from '../../shared/engine/containers.js';
import { ServiceWatcher } from '../../shared/engine/wait.js';

/**
 * The watcher's judgement of a crash loop, on the engine's answers as podman gives them: once a
 * container under `restart: always` is running again, its exit code may read 0, so the watcher
 * says how it really ended only from a look taken while it was down, and waits a little for one.
 */
const IMAGE = { service: 'api', image: 'localhost/app:v1.3.0', imageId: 'sha256:bad' };

function container(state: Partial<ContainerInfo>): ContainerInfo {
  return {
    id: 'c1',
    name: 'app_api_1',
    image: IMAGE.image,
    imageId: IMAGE.imageId,
    status: 'running',
    running: true,
    restarting: false,
    exitCode: 0,
    restartCount: 0,
    oomKilled: false,
    startedAt: '2026-11-23T10:00:00Z',
    labels: { 'com.docker.compose.service': 'api' },
    ...state,
  };
}

function watcherOver(looks: ContainerInfo[]): { watcher: ServiceWatcher; next: () => void } {
  let index = 0;
  const watcher = new ServiceWatcher([IMAGE], { listContainers: async () => [looks[index]], settleMs: 10_000 });
  return { watcher, next: () => index++ };
}

describe('ServiceWatcher on a crash loop', () => {
  it('names the exit code seen while the container was down, even when the engine reads 0 once it runs again', async () => {
    const { watcher, next } = watcherOver([
      container({ restartCount: 2 }),
      container({ restartCount: 3, status: 'exited', running: false, exitCode: 3, startedAt: '2026-11-23T10:00:01Z' }),
      container({ restartCount: 5, exitCode: 0, startedAt: '2026-11-23T10:00:02Z' }),
    ]);
    expect((await watcher.check(0)).statuses[0].state).toBe('starting');
    next();
    expect((await watcher.check(100)).statuses[0]).toMatchObject({
      state: 'restarting',
      detail: 'restarted since it was first seen (restart count 2 -> 3, last exit code 3)',
    });
    next();
    expect((await watcher.check(200)).statuses[0]).toMatchObject({
      state: 'restarting',
      detail: 'restarted since it was first seen (restart count 2 -> 5, last exit code 3)',
    });
  });

  it('waits for the next exit when a restart happened unseen, then gives up saying the engine did not tell', async () => {
    const { watcher, next } = watcherOver([
      container({ restartCount: 2 }),
      container({ restartCount: 4, startedAt: '2026-11-23T10:00:03Z' }),
    ]);
    await watcher.check(0);
    next();
    expect((await watcher.check(1000)).statuses[0]).toMatchObject({
      state: 'starting',
      detail: 'restarted since it was first seen (restart count 2 -> 4), waiting for its exit code',
    });
    expect((await watcher.check(5999)).statuses[0].state).toBe('starting');
    expect((await watcher.check(6000)).statuses[0]).toMatchObject({
      state: 'restarting',
      detail: 'restarted since it was first seen (restart count 2 -> 4; the engine did not report how it ended)',
    });
  });

  it('reports a non-zero exit code the engine still gives while running at once', async () => {
    const { watcher, next } = watcherOver([
      container({ restartCount: 1 }),
      container({ restartCount: 2, exitCode: 137, startedAt: '2026-11-23T10:00:04Z' }),
    ]);
    await watcher.check(0);
    next();
    expect((await watcher.check(100)).statuses[0]).toMatchObject({
      state: 'restarting',
      detail: 'restarted since it was first seen (restart count 1 -> 2, last exit code 137)',
    });
  });
});
