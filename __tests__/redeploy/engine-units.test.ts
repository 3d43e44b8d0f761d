import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { commonTag } from '../../actions/redeploy-tag/plan.js';
import { commandFor } from '../../actions/redeploy-tag/command-strategy.js';
import { pollReadyUrl } from '../../actions/redeploy-tag/ready-url.js';
import {
  composeConfig,
  detectCompose,
  imageOverrideYaml,
  runningContainerNotRemoved,
} from '../../shared/engine/compose.js';
import { forceRemoveContainer } from '../../shared/engine/containers.js';
import { interpolate, resolveServicesFromFiles } from '../../shared/engine/compose-file.js';
import { localExecutor } from '../../shared/engine/executor.js';
import { remoteCommandLine, remoteEnvScript, shellQuote } from '../../shared/engine/shell-quote.js';
import { runProcess } from '../../shared/process.js';
import { demoImage, dockerEnv } from '../../testkit/demo-app.js';
import { freePort, waitFor } from '../../testkit/services/free-port.js';
import { testResourceName } from '../../testkit/services/index.js';

/**
 * The pieces under the redeploy: quoting for the remote shell (checked by real shells), compose
 * variable interpolation (checked against docker-compose itself), and small helpers.
 */
describe('remote shell quoting, run through real shells', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'redeploy-quote-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const nasty = [
    'v1; rm -rf /',
    '$(touch pwned)',
    '`touch pwned`',
    "'; touch pwned; '",
    '"$HOME"',
    'a\nb',
    '*',
    '',
    '\\',
    "it's",
    '-n',
    '${IFS}x',
    '!!',
    '#comment',
  ];

  it.each(['sh', 'bash', 'dash'])('%s -c receives each argument exactly, nothing executed', async (shell) => {
    const line = remoteCommandLine('printf', ['%s\\n', ...nasty], { cwd: scratch });
    const { stdout } = await runProcess(shell, ['-c', line]);
    expect(stdout).toBe(`${nasty.join('\n')}\n`);
    expect(readdirSync(scratch)).toEqual([]);
  });

  it.each(['sh', 'bash', 'dash'])(
    '%s sources values from the env file, never the command line, and deletes the file first',
    async (shell) => {
      const values = { MARKER: "x'; touch pwned; '$(touch pwned)", PGPASSWORD: 'two\nlines $HOME `id`' };
      const envDir = mkdtempSync(path.join(os.tmpdir(), 'redeploy-envfile-'));
      try {
        const envFile = path.join(envDir, 'env');
        writeFileSync(envFile, remoteEnvScript(values) ?? '', { mode: 0o600 });
        const line = remoteCommandLine(
          'sh',
          ['-c', 'printf "%s|%s|%s" "$MARKER" "$PGPASSWORD" "$(ls -A "$0")"', envDir],
          {
            env: values,
            envFile,
          },
        );
        for (const value of Object.values(values)) expect(line).not.toContain(value);
        const { stdout } = await runProcess(shell, ['-c', line]);
        expect(stdout).toBe(`${values.MARKER}|${values.PGPASSWORD}|`);
        expect(readdirSync(scratch)).toEqual([]);
      } finally {
        rmSync(envDir, { recursive: true, force: true });
      }
    },
  );

  it('changes into directories named like options, and unsets variables with env -u', async () => {
    const dir = path.join(scratch, '-n');
    mkdirSync(dir);
    const { stdout } = await runProcess(
      'sh',
      [
        '-c',
        `cd ${shellQuote(scratch)} && ${remoteCommandLine('sh', ['-c', 'printf "%s|%s" "$(pwd)" "${GONE-unset}"'], { cwd: '-n', env: { GONE: undefined } })}`,
      ],
      {
        env: { GONE: 'present' },
      },
    );
    expect(stdout).toBe(`${dir}|unset`);
  });

  it('refuses what no shell can carry, and a value meant for the command line', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
    expect(() => remoteEnvScript({ 'A B': 'x' })).toThrow(/not a valid environment variable name/);
    expect(() => remoteCommandLine('true', [], { env: { 'A B': undefined } })).toThrow(
      /not a valid environment variable name/,
    );
    expect(() => remoteCommandLine('true', [], { env: { PGPASSWORD: 'secret' } })).toThrow(/env file/);
  });
});

describe('compose interpolation without starting compose', () => {
  it.each([
    ['app:${TAG}', { TAG: 'v1' }, 'app:v1'],
    ['app:$TAG', { TAG: 'v1' }, 'app:v1'],
    ['${REG:-localhost}/app:${TAG}', { TAG: 'v1' }, 'localhost/app:v1'],
    ['${REG:-localhost}/app:${TAG}', { TAG: 'v1', REG: '' }, 'localhost/app:v1'],
    ['${REG-localhost}/app:${TAG}', { TAG: 'v1', REG: '' }, '/app:v1'],
    ['app:${TAG:+set}', { TAG: 'v1' }, 'app:set'],
    ['app:v$$1', {}, 'app:v$1'],
  ])('%s with %j -> %s', (text, env, expected) => {
    expect(interpolate(text, env)).toBe(expected);
  });

  it.each([
    ['app:${TAG}', {}],
    ['app:${TAG:?tag required}', {}],
    ['app:${TAG:-${OTHER}}', { OTHER: 'x' }],
  ])('leaves %s with %j to compose', (text, env) => {
    expect(interpolate(text, env)).toBeUndefined();
  });

  it('agrees with docker-compose config on the images it resolves, and steps aside where unsure', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redeploy-interp-'));
    try {
      writeFileSync(
        path.join(dir, 'base.yml'),
        [
          'x-common: &common',
          '  network_mode: host',
          'services:',
          '  api:',
          '    <<: *common',
          '    image: ${REGISTRY:-localhost}/rollback-demo-app:${IMAGE_TAG}',
          '    healthcheck:',
          '      test: ["CMD", "true"]',
          '  worker:',
          '    image: localhost/worker:${WORKER_TAG-latest}',
          '  db:',
          '    image: postgres:15',
          '',
        ].join('\n'),
      );
      writeFileSync(
        path.join(dir, 'override.yml'),
        [
          'services:',
          '  worker:',
          '    image: localhost/worker:${IMAGE_TAG}-w',
          '    healthcheck:',
          '      disable: true',
          '',
        ].join('\n'),
      );
      const cli = await detectCompose(localExecutor);
      const project = { cli, files: ['base.yml', 'override.yml'], workingDirectory: dir };
      for (const env of [
        { IMAGE_TAG: 'v1.2.0' },
        { IMAGE_TAG: 'v1.1.0', REGISTRY: 'ghcr.io/acme' },
        { IMAGE_TAG: 'v1.1.0', REGISTRY: '' },
      ] as Record<string, string>[]) {
        const fromCompose = await composeConfig(localExecutor, project, { env: { REGISTRY: undefined, ...env } });
        const fromFiles = resolveServicesFromFiles(dir, project.files, ['api', 'worker', 'db'], env);
        expect(fromFiles).toBeDefined();
        for (const service of ['api', 'worker', 'db']) {
          expect(fromFiles![service].image).toBe(fromCompose[service].image);
          expect(fromFiles![service].healthcheck).toBe(fromCompose[service].healthcheck);
        }
      }
      // Unsure: a service missing, or a variable with no value and no default.
      expect(resolveServicesFromFiles(dir, project.files, ['api', 'cache'], { IMAGE_TAG: 'v1' })).toBeUndefined();
      expect(resolveServicesFromFiles(dir, project.files, ['api'], {})).toBeUndefined();
      expect(resolveServicesFromFiles(dir, [], ['api'], { IMAGE_TAG: 'v1' })).toBeUndefined();
      writeFileSync(
        path.join(dir, 'extends.yml'),
        ['services:', '  api:', '    extends:', '      file: base.yml', '      service: api', ''].join('\n'),
      );
      expect(resolveServicesFromFiles(dir, ['extends.yml'], ['api'], { IMAGE_TAG: 'v1' })).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes an image override that docker-compose layers over the project', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'redeploy-override-'));
    try {
      writeFileSync(
        path.join(dir, 'docker-compose.yml'),
        "version: '3.8'\nservices:\n  api:\n    image: localhost/app:v1.2.0\n    network_mode: host\n",
      );
      writeFileSync(path.join(dir, 'pin.yml'), imageOverrideYaml({ api: 'localhost/app:v1.1.0' }));
      const cli = await detectCompose(localExecutor);
      const config = await composeConfig(localExecutor, {
        cli,
        files: ['docker-compose.yml', 'pin.yml'],
        workingDirectory: dir,
      });
      expect(config.api.image).toBe('localhost/app:v1.1.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('small helpers', () => {
  it('substitutes {tag} in every argument of a command', () => {
    expect(commandFor(['deploy', '--image=app:{tag}', '{tag}', 'plain'], 'v1.2.0')).toEqual([
      'deploy',
      '--image=app:v1.2.0',
      'v1.2.0',
      'plain',
    ]);
  });

  it("reads which running container compose could not remove, in podman's and in Docker's words", () => {
    const id = 'a'.repeat(64);
    expect(
      runningContainerNotRemoved(
        `ERROR: for app_api_1  cannot remove container ${id} as it is running - running or paused containers cannot be removed without force`,
      ),
    ).toBe(id);
    expect(
      runningContainerNotRemoved(
        `Error response from daemon: You cannot remove a running container ${id.slice(0, 12)}. Stop the container before attempting removal or force remove`,
      ),
    ).toBe(id.slice(0, 12));
    expect(
      runningContainerNotRemoved('ERROR: for api  pull access denied for app, repository does not exist'),
    ).toBeUndefined();
  });

  it('force-removes a crash-looping container (restart: always) whatever state it is caught in, and a gone one counts as removed', async () => {
    const env = dockerEnv();
    const name = testResourceName('crashloop');
    const { stdout } = await runProcess(
      'docker',
      [
        'run',
        '-d',
        '--name',
        name,
        '--network',
        'host',
        '--restart',
        'always',
        '--entrypoint',
        '/bin/sh',
        demoImage('v1.2.0'),
        '-c',
        'echo fatal >&2; exit 3',
      ],
      { env },
    );
    const id = stdout.trim();
    try {
      await waitFor(
        `${name} to be restarted by its policy`,
        async () => {
          const inspected = await runProcess('docker', ['container', 'inspect', '--format', '{{.RestartCount}}', id], {
            env,
          });
          return Number(inspected.stdout.trim()) >= 2 ? true : undefined;
        },
        30_000,
        100,
      );
      await forceRemoveContainer(localExecutor, id, env);
      expect((await runProcess('docker', ['container', 'inspect', id], { env, okExitCodes: [0, 1] })).exitCode).toBe(1);
      await expect(forceRemoveContainer(localExecutor, id, env)).resolves.toBeUndefined();
    } finally {
      await runProcess('docker', ['rm', '-f', id], { env, okExitCodes: [0, 1] });
    }
  });

  it('sums up the tags of several services', () => {
    expect(
      commonTag([
        { service: 'api', tag: 'v1' },
        { service: 'worker', tag: 'v1' },
      ]),
    ).toBe('v1');
    expect(
      commonTag([
        { service: 'api', tag: 'v1' },
        { service: 'worker', tag: 'v2' },
      ]),
    ).toBe('api=v1,worker=v2');
    expect(commonTag([{ service: 'api' }])).toBeUndefined();
  });
});

describe('ready-url polling (a real HTTP server)', () => {
  it('retries until 2xx, follows a redirect, and sends URL credentials as Basic auth', async () => {
    let calls = 0;
    const seen: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      if (request.url === '/old') return void response.writeHead(302, { location: '/readyz' }).end();
      calls++;
      response
        .writeHead(calls < 3 ? 503 : 200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ migrations_current: calls >= 3 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await pollReadyUrl(`http://ops:s3cr%40t@127.0.0.1:${port}/old`, Date.now() + 10_000);
      expect(result).toMatchObject({ ok: true, attempts: 3, last: 'HTTP 200: {"migrations_current":true}' });
      expect(new Set(seen)).toEqual(new Set([`Basic ${Buffer.from('ops:s3cr@t').toString('base64')}`]));
    } finally {
      server.close();
    }
  });

  it('gives up at the deadline with what it saw last, and stops when aborted', async () => {
    const server = createServer((_request, response) => void response.writeHead(500).end('{"status":"error"}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await pollReadyUrl(`http://127.0.0.1:${port}/health`, Date.now() + 1500);
      expect(result).toMatchObject({ ok: false, last: 'HTTP 500: {"status":"error"}' });
      expect(result.attempts).toBeGreaterThan(3);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const aborted = await pollReadyUrl(`http://127.0.0.1:${port}/health`, Date.now() + 60_000, {
        signal: controller.signal,
      });
      // Returns (instead of polling on for a minute) once aborted.
      expect(aborted.ok).toBe(false);
    } finally {
      server.close();
    }
    const refused = await pollReadyUrl(`http://127.0.0.1:${await freePort()}/`, Date.now() + 600);
    expect(refused).toMatchObject({ ok: false, last: 'ECONNREFUSED' });
  });
});
