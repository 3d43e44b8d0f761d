/**
 * Bundles every action into <out>/<action>/index.js with ncc (ESM, because the @actions packages are
 * ESM-only). Usage: tsx scripts/build.ts [--out dir] [action ...]
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
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

/**
 * Besides the actions: the rollback-actions command (package.json "bin"), and the local runner's
 * upload-artifact stand-in it runs as a step's process, bundled the same way so the npm package
 * needs no dependencies (neither defers undici: see deferUndici).
 */
const CLI = 'cli';
const PROGRAMS: Record<string, string> = {
  [CLI]: path.join('cli', 'index.ts'),
  'local-upload-artifact': path.join('scripts', 'local-runner', 'upload-artifact-step.ts'),
};

function entryOf(name: string): string {
  return PROGRAMS[name] ?? path.join('actions', name, 'index.ts');
}

function bundle(action: string, out: string): Promise<void> {
  const ncc = path.join(REPO_ROOT, 'node_modules', '.bin', 'ncc');
  const args = ['build', entryOf(action), '-o', path.join(out, action), '--license', 'licenses.txt', '--quiet'];
  return new Promise((resolve, reject) => {
    const child = spawn(ncc, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ncc failed for ${action} (exit ${code})`)),
    );
  });
}

/**
 * @actions/core imports @actions/http-client for OIDC tokens, and it imports undici (~900 KB of the
 * bundle) for proxies: evaluated at start-up, that is a fifth of every step's start-up CPU, spent
 * before the first input is read, by actions that never use it. The one binding is made lazy: the
 * module is evaluated when a proxy agent is first asked for. The line must be there exactly once,
 * so a dependency update that changes it fails the build instead of silently undoing this.
 */
async function deferUndici(bundle: string): Promise<void> {
  const text = await readFile(bundle, 'utf8');
  // The CommonJS build of @actions/http-client, or its ES module build (harmony import) where a
  // direct dependency on it resolves to that one.
  const pattern =
    /^(?:\/\* harmony import \*\/ )?var (undici|undici__WEBPACK_IMPORTED_MODULE_\d+__) = __nccwpck_require__\((\d+)\);$/gm;
  const matches = [...text.matchAll(pattern)];
  if (matches.length !== 1)
    throw new Error(
      `${bundle}: expected @actions/http-client's undici import once, found it ${matches.length} time(s); see deferUndici in scripts/build.ts.`,
    );
  const [, name, id] = matches[0];
  const uses = new Set([...text.matchAll(new RegExp(`\\b${name}\\.(\\w+)`, 'g'))].map((use) => use[1]));
  // (The CommonJS build's plain name also appears in undici's own code, so only the harmony name is checked.)
  if (name !== 'undici' && [...uses].some((member) => member !== 'ProxyAgent'))
    throw new Error(
      `${bundle}: undici is used for more than ProxyAgent (${[...uses].join(', ')}); see deferUndici in scripts/build.ts.`,
    );
  await writeFile(
    bundle,
    text.replace(
      pattern,
      `var ${name} = { get ProxyAgent() { return __nccwpck_require__(${id}).ProxyAgent; } }; // deferred by scripts/build.ts`,
    ),
  );
}

const { out, only } = parseArgs(process.argv.slice(2));
const actions = only.length > 0 ? only : [...actionNames(), ...Object.keys(PROGRAMS)];
const started = Date.now();
// Two at a time: ncc is CPU-bound and CI machines are small.
const queue = [...actions];
async function worker(): Promise<void> {
  for (let action = queue.shift(); action; action = queue.shift()) {
    await rm(path.join(out, action), { recursive: true, force: true });
    await bundle(action, out);
    // The command calls Octokit, which fetches through undici itself: nothing to defer there.
    if (!(action in PROGRAMS)) await deferUndici(path.join(out, action, 'index.js'));
    console.log(
      `built ${path.relative(REPO_ROOT, path.join(out, action, 'index.js')) || path.join(out, action, 'index.js')}`,
    );
  }
}
await Promise.all([worker(), worker()]);
console.log(`${actions.length} bundle(s) in ${((Date.now() - started) / 1000).toFixed(1)}s`);
