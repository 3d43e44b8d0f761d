/**
 * Fails when the committed dist/ differs from a fresh build: users run dist/, so a stale bundle
 * means they run code nobody reviewed or tested.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './actions.js';

const fresh = mkdtempSync(path.join(os.tmpdir(), 'check-dist-'));
try {
  const build = spawnSync(
    process.execPath,
    [path.join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/build.ts', '--out', fresh],
    {
      cwd: REPO_ROOT,
      stdio: 'inherit',
    },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
  const diff = spawnSync('diff', ['-r', '-q', path.join(REPO_ROOT, 'dist'), fresh], { encoding: 'utf8' });
  if (diff.status !== 0) {
    console.error('dist/ is not what the source builds to:');
    console.error(diff.stdout.split(fresh).join('<fresh build>') + diff.stderr);
    console.error('Run `npm run build` and commit dist/.');
    process.exit(1);
  }
  console.log('dist/ matches a fresh build.');
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
