/**
 * npm run pack [-- --out dir]: the npm package of the rollback-actions command, as a tarball.
 * Everything it runs is bundled (dist/: the actions and dist/cli, the command with the local
 * runner), so its manifest declares no dependencies: `npm install <tarball>` needs no registry and
 * `npx rollback-actions` works on a machine with only Node. It also holds what the runner reads:
 * the workflows, the scripts they run, and each action's action.yml.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { actionNames, REPO_ROOT } from './actions.js';

interface Manifest {
  name: string;
  version: string;
  description: string;
  license: string;
  engines: Record<string, string>;
}

const outFlag = process.argv.indexOf('--out');
const out = path.resolve(outFlag > 0 && process.argv[outFlag + 1] ? process.argv[outFlag + 1] : REPO_ROOT);
const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
const stage = mkdtempSync(path.join(os.tmpdir(), 'rollback-actions-pack-'));
try {
  const copy = (relative: string) =>
    cpSync(path.join(REPO_ROOT, relative), path.join(stage, relative), { recursive: true });
  ['dist', 'README.md', 'LICENSE', '.github/scripts'].forEach(copy);
  for (const workflow of readdirSync(path.join(REPO_ROOT, '.github', 'workflows')).filter((file) =>
    /^(rollback|rollback-drill|auto-rollback)\.yml$/.test(file),
  ))
    copy(`.github/workflows/${workflow}`);
  for (const action of actionNames()) copy(`actions/${action}/action.yml`);
  const published = {
    name: manifest.name,
    version: manifest.version,
    description: manifest.description,
    license: manifest.license,
    type: 'module',
    engines: manifest.engines,
    bin: { 'rollback-actions': 'dist/cli/index.js' },
    files: ['dist', 'actions', '.github', 'README.md', 'LICENSE'],
  };
  writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  mkdirSync(out, { recursive: true });
  const pack = spawnSync('npm', ['pack', '--pack-destination', out, '--json'], { cwd: stage, encoding: 'utf8' });
  if (pack.status !== 0) {
    process.stderr.write(pack.stderr);
    process.exit(pack.status ?? 1);
  }
  const [{ filename, entryCount, size }] = JSON.parse(pack.stdout) as {
    filename: string;
    entryCount: number;
    size: number;
  }[];
  console.log(`${path.join(out, filename)} (${entryCount} files, ${(size / 1024 / 1024).toFixed(1)} MiB)`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
