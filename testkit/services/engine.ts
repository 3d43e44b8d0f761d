import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, runProcess } from '../../shared/process.js';
import { waitFor } from './free-port.js';

/**
 * A private Docker Engine for one test run (and for `npm run demo` and `npm run bench`): Debian's
 * dockerd with its own data root, exec root, socket, pidfile, containerd namespace and config file,
 * all in one temp dir, so several runs on one machine never see each other's containers, images or
 * swarm. Stopped and deleted at the end of the run.
 *
 * Sandboxes and CI machines have no bridge networking or iptables, so the engine runs without them
 * (`--bridge=none --iptables=false`) and containers use host networking; vfs is the storage driver
 * that works everywhere (no overlay mounts needed).
 *
 * Swarm: the run's engine is a single-node swarm manager. Swarm's gossip port (7946) cannot be changed,
 * so every engine advertises and listens on an address of its own in 127.0.0.0/8 (all of it is
 * loopback on Linux): runs at the same time never collide on 2377/7946, and each gets a free
 * data-path (VXLAN) port too.
 */
export interface DockerEngine {
  /** Value for DOCKER_HOST: unix:///tmp/ra-dockerd-xxxx/docker.sock. */
  dockerHost: string;
  /** The swarm this engine belongs to, when it is in one. */
  swarm?: { address: string; nodeId: string };
  stop(): Promise<void>;
}

export interface EngineService extends DockerEngine {
  kind: 'docker';
}

export interface DockerdOptions {
  /** Make the engine the manager of a swarm of its own (joinSwarm adds workers). */
  swarm?: boolean;
}

const SWARM_PORT = 2377;
const GOSSIP_PORT = 7946;

async function dockerAnswers(dockerHost: string): Promise<boolean> {
  const result = await runProcess('docker', ['version', '--format', '{{.Server.Version}}'], {
    env: { DOCKER_HOST: dockerHost },
    okExitCodes: [0, 1],
    timeoutMs: 10_000,
  }).catch(() => undefined);
  return result?.exitCode === 0;
}

/** Whether nothing listens on `address`:`port` over TCP (and, with udp, over UDP either). */
async function portFree(address: string, port: number, udp: boolean): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
  if (!tcp || !udp) return tcp;
  return await new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, address, () => socket.close(() => resolve(true)));
  });
}

/** An address in 127.77.0.0/16 whose swarm and gossip ports are free: one swarm per address. */
async function freeSwarmAddress(): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const address = `127.77.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    if ((await portFree(address, SWARM_PORT, false)) && (await portFree(address, GOSSIP_PORT, true))) return address;
  }
  throw new Error('No free loopback address for a swarm in 127.77.0.0/16.');
}

/** A UDP port for swarm's VXLAN data path; Docker accepts 1024-49151. */
async function freeDataPathPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = randomInt(20_000, 32_000);
    if (await portFree('0.0.0.0', port, true)) return port;
  }
  throw new Error('No free UDP port for the swarm data path.');
}

/** Mount points under `dir` that dockerd leaves behind (network namespaces), deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((mount): mount is string => Boolean(mount) && mount.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * dockerd needs root: as another user it (and the kill, umount and rm that end it) runs through
 * passwordless sudo, as GitHub's hosted runners allow, with the socket given to the user's group.
 */
function privilege(): { asRoot: (command: string, args: string[]) => [string, string[]]; group?: string } {
  if (process.getuid?.() === 0) return { asRoot: (command, args) => [command, args] };
  if (!findExecutable('sudo'))
    throw new Error('dockerd needs root: run the tests as root, or as a user with passwordless sudo.');
  return { asRoot: (command, args) => ['sudo', ['-n', command, ...args]], group: String(process.getgid?.()) };
}

export async function startDockerd(options: DockerdOptions = {}): Promise<DockerEngine> {
  const dockerd = findExecutable('dockerd', ['/usr/sbin', '/usr/bin']);
  if (!dockerd) throw new Error('dockerd is not installed (Debian package docker.io). Run scripts/setup-test-env.sh.');
  if (!findExecutable('docker')) throw new Error('The docker CLI is not installed. Run scripts/setup-test-env.sh.');
  const { asRoot, group } = privilege();
  // Short: containerd and libnetwork put sockets in the exec root, and socket paths end at 107 bytes.
  const dir = mkdtempSync(path.join(os.tmpdir().length > 40 ? '/tmp' : os.tmpdir(), 'ra-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const dockerHost = `unix://${socket}`;
  const logFile = path.join(dir, 'dockerd.log');
  const pidFile = path.join(dir, 'docker.pid');
  const namespace = `ra-${randomBytes(4).toString('hex')}`;
  mkdirSync(path.join(dir, 'data'));
  mkdirSync(path.join(dir, 'exec'));
  // An empty config file: the host's /etc/docker/daemon.json must not leak in (its data-root or hosts would clash).
  writeFileSync(path.join(dir, 'daemon.json'), '{}\n');
  const args = [
    '--config-file',
    path.join(dir, 'daemon.json'),
    '--data-root',
    path.join(dir, 'data'),
    '--exec-root',
    path.join(dir, 'exec'),
    '--pidfile',
    pidFile,
    '-H',
    dockerHost,
    // A containerd already running on the machine would be shared: its namespaces keep the runs apart.
    '--containerd-namespace',
    namespace,
    '--containerd-plugins-namespace',
    `${namespace}-plugins`,
    '--iptables=false',
    '--ip-masq=false',
    '--bridge=none',
    '--storage-driver=vfs',
    '--shutdown-timeout',
    '5',
    ...(group ? ['--group', group] : []),
  ];
  const log = openSync(logFile, 'a');
  const child = spawn(...asRoot(dockerd, args), { stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  child.unref();
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `dockerd exited (${code ?? signal})`));
  const logTail = () =>
    existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n') : '';

  const stop = async () => {
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : child.pid;
    if (pid && exited === undefined) {
      await runProcess(...asRoot('kill', ['-TERM', String(pid)]), { okExitCodes: [0, 1] });
      await waitFor(
        'dockerd to stop',
        async () => (exited !== undefined || !existsSync(`/proc/${pid}`) ? true : undefined),
        60_000,
        100,
      ).catch(async () => {
        await runProcess(...asRoot('kill', ['-KILL', String(pid)]), { okExitCodes: [0, 1] });
      });
    }
    for (const mount of mountsUnder(dir))
      await runProcess(...asRoot('umount', ['-l', mount]), { okExitCodes: [0, 1, 32] });
    // vfs layers hold root-owned files: removing them needs root too.
    if (group) await runProcess(...asRoot('rm', ['-rf', dir]), { okExitCodes: [0, 1] });
    else rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      'dockerd to answer',
      async () => {
        if (exited) throw new Error(`${exited}:\n${logTail()}`);
        return (await dockerAnswers(dockerHost)) ? true : undefined;
      },
      60_000,
      100,
    );
    const swarm = options.swarm ? await initSwarm(dockerHost) : undefined;
    return { dockerHost, swarm, stop };
  } catch (error) {
    const message = `${(error as Error).message}\ndockerd log (${logFile}):\n${logTail()}`;
    await stop();
    throw new Error(message, { cause: error });
  }
}

/** Makes the engine the manager of a new swarm, on a loopback address and data-path port of its own. */
export async function initSwarm(dockerHost: string): Promise<{ address: string; nodeId: string }> {
  const endpoint = `${await freeSwarmAddress()}:${SWARM_PORT}`;
  const dataPathPort = await freeDataPathPort();
  await runProcess(
    'docker',
    [
      'swarm',
      'init',
      '--advertise-addr',
      endpoint,
      '--listen-addr',
      endpoint,
      '--data-path-port',
      String(dataPathPort),
    ],
    { env: { DOCKER_HOST: dockerHost }, timeoutMs: 60_000 },
  );
  return { address: endpoint, nodeId: await swarmNodeId(dockerHost) };
}

/** Joins the engine to a swarm as a worker, on a loopback address of its own. */
export async function joinSwarm(
  dockerHost: string,
  join: { managerAddress: string; token: string },
): Promise<{ address: string; nodeId: string }> {
  const endpoint = `${await freeSwarmAddress()}:${SWARM_PORT}`;
  await runProcess(
    'docker',
    [
      'swarm',
      'join',
      '--token',
      join.token,
      '--advertise-addr',
      endpoint,
      '--listen-addr',
      endpoint,
      join.managerAddress,
    ],
    { env: { DOCKER_HOST: dockerHost }, timeoutMs: 60_000 },
  );
  return { address: endpoint, nodeId: await swarmNodeId(dockerHost) };
}

async function swarmNodeId(dockerHost: string): Promise<string> {
  const { stdout } = await runProcess('docker', ['info', '--format', '{{.Swarm.NodeID}}'], {
    env: { DOCKER_HOST: dockerHost },
  });
  return stdout.trim();
}

/** The run's engine: a private dockerd that is a single-node swarm manager. */
export async function startEngine(): Promise<EngineService> {
  return { ...(await startDockerd({ swarm: true })), kind: 'docker' };
}
