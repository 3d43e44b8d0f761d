import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable, runProcess } from '../../shared/process.js';
import { RELEASES } from '../fixtures/demo-app/versions.js';

/**
 * Builds the demo app's image family (localhost/rollback-demo-app:v1.0.0 ... v1.3.0) without a
 * registry: the app is bundled with ncc, put in a root filesystem with busybox and this machine's
 * node binary and its libraries, and imported with `docker import`, one tag per release (one
 * tarball, so the tags share one layer). Every run has a fresh engine, so the root filesystem
 * tarball is kept in node_modules/.cache under its inputs' content hash, and a run whose inputs
 * did not change only imports it (about a second per tag instead of half a minute of bundling).
 */
export const DEMO_IMAGE = 'localhost/rollback-demo-app';
export const DEMO_TAGS = Object.keys(RELEASES);
const BUILD_LABEL = 'io.rollback-actions.demo-build';
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const APP_DIR = path.join(REPO_ROOT, 'testkit', 'fixtures', 'demo-app');
const BUSYBOX_APPLETS = [
  'sh',
  'cat',
  'echo',
  'ls',
  'sleep',
  'wget',
  'env',
  'ps',
  'kill',
  'true',
  'false',
  'nc',
  'grep',
  'id',
];

async function bundleApp(outDir: string): Promise<void> {
  const ncc = path.join(REPO_ROOT, 'node_modules', '.bin', 'ncc');
  await runProcess(ncc, ['build', path.join(APP_DIR, 'server.ts'), '-o', outDir, '--quiet'], {
    cwd: REPO_ROOT,
    timeoutMs: 180_000,
  });
}

/** Shared libraries a binary loads, from ldd (in ldd's order), so an image runs it as this machine does. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await runProcess('ldd', [binary]);
  return [...stdout.matchAll(/(\/[^\s]+\.so[^\s]*)/g)].map((match) => match[1]);
}

/** Content hash of the inputs; names are repository-relative so two checkouts of one commit agree. */
export function hashInputs(files: string[], extra: string): string {
  const hash = createHash('sha256').update(extra);
  for (const file of files)
    hash.update(file.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, file) : file).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** The value of the build label `label` on an image, undefined when there is no such image. */
export async function imageBuildLabel(
  reference: string,
  env: Record<string, string>,
  label = BUILD_LABEL,
): Promise<string | undefined> {
  const result = await runProcess(
    'docker',
    ['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, reference],
    { env, okExitCodes: [0, 1] },
  );
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** busybox as /bin/busybox with its applets linked next to it; `root`/bin must exist. */
export function installBusybox(root: string, busybox: string, applets: string[]): void {
  copyFileSync(busybox, path.join(root, 'bin', 'busybox'));
  for (const applet of applets) symlinkSync('busybox', path.join(root, 'bin', applet));
}

/** Copies shared libraries into `root` at their absolute paths. */
export function copyLibraries(root: string, libraries: string[]): void {
  for (const library of libraries) {
    mkdirSync(path.join(root, path.dirname(library)), { recursive: true });
    copyFileSync(library, path.join(root, library));
  }
}

function buildRootFs(root: string, appBundle: string, nodeBinary: string, libraries: string[], busybox: string): void {
  for (const dir of ['bin', 'usr/bin', 'app', 'tmp', 'etc']) mkdirSync(path.join(root, dir), { recursive: true });
  installBusybox(root, busybox, BUSYBOX_APPLETS);
  copyFileSync(nodeBinary, path.join(root, 'usr', 'bin', 'node'));
  copyLibraries(root, libraries);
  for (const file of listFiles(appBundle)) {
    const target = path.join(root, 'app', path.relative(appBundle, file));
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n');
  writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\napp:x:1000:\n');
}

const CACHE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'rollback-actions');

/**
 * The root filesystem tarball `<kind>-<hash>.tar`, built by `build` into a fresh directory when it
 * is not cached yet. Written under a temporary name and renamed, so a concurrent run never reads a
 * half-written one; older tarballs of the same kind are removed.
 */
export async function rootfsTarball(
  kind: string,
  hash: string,
  build: (root: string, work: string) => Promise<void>,
): Promise<string> {
  const cached = path.join(CACHE_DIR, `${kind}-${hash}.tar`);
  if (existsSync(cached)) return cached;
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), `rollback-${kind}-`));
  try {
    const root = path.join(work, 'rootfs');
    mkdirSync(root);
    await build(root, work);
    const partial = `${cached}.${process.pid}.partial`;
    await runProcess('tar', ['-C', root, '-cf', partial, '.']);
    renameSync(partial, cached);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const file of readdirSync(CACHE_DIR)) {
    if (file.startsWith(`${kind}-`) && file.endsWith('.tar') && path.join(CACHE_DIR, file) !== cached)
      rmSync(path.join(CACHE_DIR, file), { force: true });
  }
  return cached;
}

export interface DemoImages {
  image: string;
  tags: string[];
  /** Seconds spent building, 0 when every image was already up to date. */
  buildSeconds: number;
}

/** Builds the demo images on the engine at `dockerHost`: every release, or only `tags` (a second swarm node's). */
export async function buildDemoImages(dockerHost: string, tags: readonly string[] = DEMO_TAGS): Promise<DemoImages> {
  const started = Date.now();
  const env = { DOCKER_HOST: dockerHost };
  const nodeBinary = process.execPath;
  const busybox = findExecutable('busybox', ['/bin', '/usr/bin']);
  if (!busybox)
    throw new Error('busybox is not installed (Debian package busybox-static). Run scripts/setup-test-env.sh.');
  const libraries = await sharedLibraries(nodeBinary);
  // Hash the sources, not the bundle: an up-to-date machine then skips the bundling step entirely.
  const sources = [
    ...listFiles(APP_DIR).filter((file) => file.endsWith('.ts')),
    path.join(REPO_ROOT, 'node_modules', 'pg', 'package.json'),
  ];
  const buildHash = hashInputs([...sources, nodeBinary, busybox, ...libraries], 'demo-image-v1');
  const stale = [];
  for (const tag of tags) {
    if ((await imageBuildLabel(`${DEMO_IMAGE}:${tag}`, env)) !== buildHash) stale.push(tag);
  }
  if (stale.length === 0) return { image: DEMO_IMAGE, tags: [...tags], buildSeconds: 0 };

  const tarball = await rootfsTarball('demo-app', buildHash, async (root, work) => {
    const bundle = path.join(work, 'bundle');
    await bundleApp(bundle);
    buildRootFs(root, bundle, nodeBinary, libraries, busybox);
  });
  // One import per tag, at once: the engine hashes the same tarball for each, and stores one layer.
  await Promise.all(
    stale.map((tag) =>
      runProcess(
        'docker',
        [
          'import',
          '--change',
          `ENV APP_VERSION=${tag}`,
          '--change',
          'ENV PORT=8080',
          '--change',
          'ENV NODE_ENV=production',
          '--change',
          `LABEL ${BUILD_LABEL}=${buildHash}`,
          '--change',
          `LABEL org.opencontainers.image.version=${tag}`,
          '--change',
          'WORKDIR /app',
          '--change',
          'CMD ["/usr/bin/node", "/app/index.js"]',
          tarball,
          `${DEMO_IMAGE}:${tag}`,
        ],
        { env, timeoutMs: 300_000 },
      ),
    ),
  );
  return { image: DEMO_IMAGE, tags: [...tags], buildSeconds: (Date.now() - started) / 1000 };
}

export function demoMigrationsDir(): string {
  return path.join(APP_DIR, 'migrations');
}
