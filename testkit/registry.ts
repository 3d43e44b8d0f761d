import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, runProcess } from '../shared/process.js';
import { freePort, waitFor } from './services/free-port.js';

/**
 * A real image registry on 127.0.0.1 (Debian's docker-registry, the CNCF distribution server),
 * storing in a temp dir: images pushed to it can be pulled by any engine here (Docker treats
 * 127.0.0.0/8 registries as plain-HTTP ones), which is how a deploy host gets an image it does
 * not have.
 */
export interface TestRegistry {
  /** host:port, the prefix of the images in it: 127.0.0.1:5123/app:v1. */
  address: string;
  /** Tags `image` as <address>/<name> and pushes it through the engine at dockerHost; returns the new reference. */
  push(dockerHost: string, image: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<TestRegistry> {
  const binary = findExecutable('docker-registry', ['/usr/bin']);
  if (!binary)
    throw new Error(
      'docker-registry is not installed (Debian package docker-registry). Run scripts/setup-test-env.sh.',
    );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ra-registry-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const config = path.join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      'http:',
      `  addr: ${address}`,
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `docker-registry exited (${code ?? signal}): ${log}`));
  const stop = async () => {
    if (exited === undefined) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'the registry to answer',
      async () => {
        if (exited) throw new Error(exited);
        return (await fetch(`http://${address}/v2/`).catch(() => undefined))?.status === 200 ? true : undefined;
      },
      20_000,
      100,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address,
    async push(dockerHost, image, name) {
      const reference = `${address}/${name}`;
      const env = { DOCKER_HOST: dockerHost };
      await runProcess('docker', ['tag', image, reference], { env });
      await runProcess('docker', ['push', '--quiet', reference], { env, timeoutMs: 300_000 });
      return reference;
    },
    stop,
  };
}
