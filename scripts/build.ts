/**
 * Bundles every action into <out>/<action>/index.js with ncc (ESM, because the @actions packages are
 * ESM-only). Usage: tsx scripts/build.ts [--out dir] [action ...]
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { actionNames, REPO_ROOT } from './actions.js';

function parseArgs(argv: string[]): { out: string; only: string[] } {
  let out = path.join(REPO_ROOT, 'dist');
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = path.resolve(argv[++i]);
    else only.push(argv[i]);
  }
  return { out, only };
}

function bundle(action: string, out: string): Promise<void> {
  const ncc = path.join(REPO_ROOT, 'node_modules', '.bin', 'ncc');
  const args = ['build', path.join('actions', action, 'index.ts'), '-o', path.join(out, action), '--license', 'licenses.txt', '--quiet'];
  return new Promise((resolve, reject) => {
    const child = spawn(ncc, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ncc failed for ${action} (exit ${code})`))));
  });
}

const { out, only } = parseArgs(process.argv.slice(2));
const actions = only.length > 0 ? only : actionNames();
const started = Date.now();
// Two at a time: ncc is CPU-bound and CI machines are small.
const queue = [...actions];
async function worker(): Promise<void> {
  for (let action = queue.shift(); action; action = queue.shift()) {
    await rm(path.join(out, action), { recursive: true, force: true });
    await bundle(action, out);
    console.log(`built ${path.relative(REPO_ROOT, path.join(out, action, 'index.js')) || path.join(out, action, 'index.js')}`);
  }
}
await Promise.all([worker(), worker()]);
console.log(`${actions.length} bundle(s) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
