import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../../shared/process.js';
import { copyLibraries, hashInputs, rootfsTarball, sharedLibraries } from './demo-images.js';

/**
 * An image of an Alembic app, imported from a root filesystem tarball (no registry): Debian's
 * python3, alembic 1.8, SQLAlchemy, psycopg2 and their shared libraries, and the app's directory
 * in /app (its working directory). The tarball is cached by the hash of what goes into it.
 */
const PYTHON = '/usr/bin/python3.11';
const SITE = '/usr/lib/python3/dist-packages';
const PACKAGES = ['alembic', 'sqlalchemy', 'psycopg2', 'mako', 'markupsafe', 'greenlet'];

function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

export async function buildAlembicImage(
  dockerHost: string,
  image: string,
  appDir: string,
  kind = 'alembic-app',
): Promise<void> {
  const site = readdirSync(SITE).filter((name) =>
    PACKAGES.some((pkg) => name.toLowerCase() === pkg || name.toLowerCase().startsWith(`${pkg}-`)),
  );
  const sources = [...filesBelow(appDir), PYTHON, '/usr/bin/alembic'];
  const tarball = await rootfsTarball(kind, hashInputs(sources, `alembic-app-v2 ${site.join(' ')}`), async (root) => {
    mkdirSync(path.join(root, 'usr', 'bin'), { recursive: true });
    cpSync(PYTHON, path.join(root, 'usr', 'bin', 'python3'));
    cpSync('/usr/bin/alembic', path.join(root, 'usr', 'bin', 'alembic'));
    cpSync('/usr/lib/python3.11', path.join(root, 'usr', 'lib', 'python3.11'), {
      recursive: true,
      filter: (source) => !/\/(test|idlelib|tkinter|__pycache__)$/.test(source),
    });
    for (const name of site) cpSync(path.join(SITE, name), path.join(root, SITE, name), { recursive: true });
    // Compiled once here, or every container's first python start compiles what it imports
    // (5.0 s against 1.5 s for alembic's imports at load 15): the stack starts several containers.
    await runProcess(PYTHON, [
      '-m',
      'compileall',
      '-q',
      '-j',
      '0',
      '-s',
      root,
      '-p',
      '/',
      '--invalidation-mode',
      'unchecked-hash',
      path.join(root, 'usr', 'lib', 'python3.11'),
      path.join(root, SITE),
    ]);
    const objects = [PYTHON, ...filesBelow(root).filter((file) => file.endsWith('.so'))];
    const libraries = new Set<string>();
    for (const object of objects) for (const library of await sharedLibraries(object)) libraries.add(library);
    copyLibraries(
      root,
      [...libraries].filter((library) => !library.startsWith(root)),
    );
    cpSync(appDir, path.join(root, 'app'), { recursive: true });
    mkdirSync(path.join(root, 'tmp'), { recursive: true });
  });
  await runProcess(
    'docker',
    ['import', '--change', 'WORKDIR /app', '--change', 'ENV PATH=/usr/bin:/bin', tarball, image],
    { env: { DOCKER_HOST: dockerHost } },
  );
}
