import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../testkit/action-harness.js';

/**
 * Start-up of every action: @actions/core's undici (for proxies of OIDC requests) is evaluated only
 * when a proxy agent is asked for (scripts/build.ts deferUndici), not before each step's first input.
 */
describe('the bundles', () => {
  // The rollback-actions command keeps undici whole (Octokit fetches through it on every run), and so
  // does its upload-artifact stand-in (the artifact client imports it twice).
  const bundles = readdirSync(path.join(REPO_ROOT, 'dist')).filter(
    (bundle) => bundle !== 'cli' && bundle !== 'local-upload-artifact',
  );

  it.each(bundles)('%s defers undici until a proxy agent is asked for', (action) => {
    const text = readFileSync(path.join(REPO_ROOT, 'dist', action, 'index.js'), 'utf8');
    expect(text).toMatch(
      /^var undici(?:__WEBPACK_IMPORTED_MODULE_\d+__)? = \{ get ProxyAgent\(\) \{ return __nccwpck_require__\(\d+\)\.ProxyAgent; \} \}; \/\/ deferred by scripts\/build\.ts$/m,
    );
    expect(text).not.toMatch(
      /^(?:\/\* harmony import \*\/ )?var undici(?:__WEBPACK_IMPORTED_MODULE_\d+__)? = __nccwpck_require__\(\d+\);$/m,
    );
  });
});
