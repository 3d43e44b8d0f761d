import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { REPO_ROOT } from '../../testkit/action-harness.js';

/**
 * `npm ci` warns EBADENGINE when a locked package refuses the running Node. Every package in the
 * lock file must accept the oldest Node package.json promises (and node24, the actions' runtime),
 * so installing on any supported Node is quiet; content-type 3 (node >=22 only, for being ESM) is
 * kept out by the override in package.json.
 */
describe('engines', () => {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    engines: { node: string };
  };
  const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };
  const oldest = semver.minVersion(manifest.engines.node)!.version;

  it.each([oldest, '24.0.0'])('every locked package accepts Node %s', (version) => {
    const refusing = Object.entries(lock.packages)
      .filter(
        ([name, entry]) =>
          name !== '' &&
          !Array.isArray(entry.engines) &&
          entry.engines?.node &&
          !semver.satisfies(version, entry.engines.node),
      )
      .map(([name, entry]) => `${name} (${(entry.engines as { node: string }).node})`);
    expect(refusing).toEqual([]);
  });

  it('the running Node is one package.json accepts', () => {
    expect(semver.satisfies(process.version, manifest.engines.node)).toBe(true);
  });
});
