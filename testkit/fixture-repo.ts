import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './action-harness.js';
import { RELEASE_SCHEMA } from './fixtures/demo-app/versions.js';

/**
 * Real git repositories for the tests: each release is a commit that adds (or removes) files,
 * tagged like a team would tag it, annotated or not.
 */
export interface FixtureRelease {
  tag: string;
  /** Files to write, relative to the repository root. */
  files?: Record<string, string>;
  /** Files to delete. */
  remove?: string[];
  /** Annotated tag (git tag -a) instead of a lightweight one. */
  annotated?: boolean;
}

export interface FixtureRepo {
  dir: string;
  git(...args: string[]): string;
  /** The commit a tag points at. */
  commitOf(tag: string): string;
  remove(): void;
}

/** Fixed identity and no user or system git config: commits are the same on every machine. */
export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Release Bot',
  GIT_AUTHOR_EMAIL: 'release@example.com',
  GIT_COMMITTER_NAME: 'Release Bot',
  GIT_COMMITTER_EMAIL: 'release@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function createFixtureRepo(
  releases: readonly FixtureRelease[],
  options: { extraTags?: string[]; prefix?: string } = {},
): FixtureRepo {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${options.prefix ?? 'rollback-fixture'}-`));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, ...args], { env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  let day = 1;
  for (const release of releases) {
    for (const [file, content] of Object.entries(release.files ?? {})) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), content);
    }
    for (const file of release.remove ?? []) rmSync(path.join(dir, file), { recursive: true, force: true });
    writeFileSync(path.join(dir, 'VERSION'), `${release.tag}\n`);
    git('add', '-A');
    const date = `2026-01-${String(day++).padStart(2, '0')}T12:00:00Z`;
    execFileSync('git', ['-C', dir, 'commit', '-q', '-m', `Release ${release.tag}`], {
      env: { ...process.env, ...GIT_ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    });
    if (release.annotated) git('tag', '-a', release.tag, '-m', `Release ${release.tag}`);
    else git('tag', release.tag);
  }
  for (const tag of options.extraTags ?? []) git('tag', tag);
  return {
    dir,
    git,
    commitOf: (tag) => git('rev-parse', `${tag}^{commit}`),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The demo app's golang-migrate files, so a fixture can reproduce its release history. */
function demoMigrationFiles(): Record<string, string> {
  const source = path.join(REPO_ROOT, 'testkit', 'fixtures', 'demo-app', 'migrations');
  return Object.fromEntries(readdirSync(source).map((file) => [file, readFileSync(path.join(source, file), 'utf8')]));
}

/**
 * The demo app's history: v1.0.0 (schema 2), v1.1.0 (+0003 additive), v1.2.0 (+0004 rename),
 * v1.3.0 (+0005 additive), migrations in db/migrations. Plus tags a real repository has: a
 * release candidate, a non-semver tag, another component's tags.
 */
export function createDemoRepo(): FixtureRepo {
  const all = demoMigrationFiles();
  const releases: FixtureRelease[] = Object.entries(RELEASE_SCHEMA).map(([tag, schema], index) => ({
    tag,
    annotated: index % 2 === 0,
    files: Object.fromEntries(
      Object.entries(all)
        .filter(([file]) => Number(file.slice(0, 4)) <= schema)
        .map(([file, content]) => [`db/migrations/${file}`, content]),
    ),
  }));
  // v1.3.0-rc.1 sits between v1.2.0 and v1.3.0, with v1.3.0's migrations.
  releases.splice(3, 0, { tag: 'v1.3.0-rc.1', files: releases[3].files });
  return createFixtureRepo(releases, { extraTags: ['vnext', 'v1.1', 'web-v2.0.0', 'nightly'], prefix: 'demo-repo' });
}
