import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../shared/process.js';
import { freePort, waitFor } from './services/free-port.js';

/**
 * A real OpenSSH server on 127.0.0.1 for the tests of the SSH path: Debian's sshd with its own
 * config, a throwaway host key and a throwaway user key, everything in one temp dir. Sessions log in
 * as the current user and get `env` (e.g. DOCKER_HOST pointing at the test engine) through sshd's
 * SetEnv, the way a deploy host's login environment would point at its engine.
 */
export interface TestSshServer {
  host: string;
  port: number;
  user: string;
  /** The user's private key (OpenSSH format), as a workflow would pass it from a secret. */
  privateKey: string;
  /** known_hosts line(s) for this server, as `ssh-keyscan -p <port> 127.0.0.1` would print them. */
  knownHosts: string;
  /** A known_hosts line with a different key for the same host: a man in the middle, as ssh sees it. */
  wrongKnownHosts: string;
  /** Cuts every open connection and stops listening, as a deploy host that goes away mid-run. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

/** Descendants of `pid`: sshd's per-connection processes (and theirs), which outlive a stopped listener. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command name before it may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parents) {
      if (ppid !== parent) continue;
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

const SSHD = '/usr/sbin/sshd';
/** sshd (as root) insists on its privilege separation directory; Debian creates it only in the service unit. */
const PRIVSEP_DIR = '/run/sshd';

async function keyPair(file: string, comment: string): Promise<{ privateKey: string; publicKey: string }> {
  await runProcess('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim() };
}

export async function startSshServer(options: { env?: Record<string, string> } = {}): Promise<TestSshServer> {
  if (!existsSync(SSHD))
    throw new Error(`${SSHD} is not installed: apt-get install openssh-server (scripts/setup-test-env.sh).`);
  if (process.getuid?.() === 0 && !existsSync(PRIVSEP_DIR)) mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-sshd-'));
  const user = os.userInfo().username;
  const port = await freePort();
  const hostKey = await keyPair(path.join(dir, 'host_ed25519'), 'throwaway-host');
  const userKey = await keyPair(path.join(dir, 'user_ed25519'), 'throwaway-user');
  const otherHostKey = await keyPair(path.join(dir, 'other_host_ed25519'), 'impostor');
  writeFileSync(path.join(dir, 'authorized_keys'), `${userKey.publicKey}\n`, { mode: 0o600 });
  const logFile = path.join(dir, 'sshd.log');
  // One SetEnv line with every pair: sshd uses the first value a keyword gets, so a second line would be ignored.
  const pairs = Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${value}`);
  const setEnv = pairs.length > 0 ? [`SetEnv ${pairs.join(' ')}`] : [];
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_ed25519')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      // The key files live in a temp dir, not ~/.ssh; the mode checks would refuse them.
      'StrictModes no',
      'UsePAM no',
      'PrintMotd no',
      'MaxStartups 50',
      'MaxSessions 50',
      ...setEnv,
      '',
    ].join('\n'),
  );

  const server: ChildProcess = spawn(SSHD, ['-D', '-f', path.join(dir, 'sshd_config'), '-E', logFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let exited: string | undefined;
  let stderr = '';
  server.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  server.on(
    'exit',
    (code, signal) =>
      (exited = `sshd exited (${code ?? signal}): ${stderr}${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`),
  );

  const crash = async () => {
    if (exited !== undefined || server.pid === undefined) return;
    const sessions = descendantsOf(server.pid);
    const gone = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await gone;
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already ended.
      }
    }
  };

  const stop = async () => {
    if (exited === undefined) {
      const gone = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const keyscan = await waitFor(
      'the test sshd to answer ssh-keyscan',
      async () => {
        if (exited) throw new Error(exited);
        const result = await runProcess('ssh-keyscan', ['-T', '2', '-t', 'ed25519', '-p', String(port), '127.0.0.1'], {
          okExitCodes: [0, 1],
        });
        return result.stdout.includes('ssh-ed25519') ? result.stdout : undefined;
      },
      15_000,
      100,
    );
    const knownHosts = keyscan
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .join('\n');
    // Sanity: the scanned key is the one we generated.
    if (!knownHosts.includes(hostKey.publicKey.split(' ')[1]))
      throw new Error(`ssh-keyscan returned an unexpected key: ${knownHosts}`);
    const hostField = knownHosts.split(' ')[0];
    const [type, key] = otherHostKey.publicKey.split(' ');
    return {
      host: '127.0.0.1',
      port,
      user,
      privateKey: userKey.privateKey,
      knownHosts,
      wrongKnownHosts: `${hostField} ${type} ${key}`,
      crash,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The ssh-* inputs of an action that reaches `server`, as a workflow passes them. */
export function sshActionInputs(server: TestSshServer): Record<string, string> {
  return {
    'ssh-host': server.host,
    'ssh-port': String(server.port),
    'ssh-user': server.user,
    'ssh-key': server.privateKey,
    'known-hosts': server.knownHosts,
  };
}
