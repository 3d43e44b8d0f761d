import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runProcess } from '../shared/process.js';
import { REPO_ROOT } from './action-harness.js';
import type { TestDatabase } from './database.js';

/**
 * The Alembic fixture app (testkit/fixtures/alembic-app: 10 revisions, a branch 0004a/0004b and a
 * merge 0005), cut into the files of the releases a test commits to its fixture repository.
 */
export const ALEMBIC_FIXTURE = path.join(REPO_ROOT, 'testkit', 'fixtures', 'alembic-app');
export const ALEMBIC_VERSIONS = 'alembic/versions';

/** The fixture's revision files whose names start with one of the prefixes (`0004a` for 0004a_*.py), by repository path. */
export function alembicRevisionFiles(prefixes: string[]): Record<string, string> {
  const dir = path.join(ALEMBIC_FIXTURE, ALEMBIC_VERSIONS);
  return Object.fromEntries(
    readdirSync(dir)
      .filter((file) => file.endsWith('.py') && prefixes.some((prefix) => file.startsWith(`${prefix}_`)))
      .map((file) => [`${ALEMBIC_VERSIONS}/${file}`, readFileSync(path.join(dir, file), 'utf8')]),
  );
}

/** The app's Alembic setup (alembic.ini, env.py) and its first three revisions: the first release with a database. */
export function alembicFirstRelease(): Record<string, string> {
  const app = (file: string) => readFileSync(path.join(ALEMBIC_FIXTURE, file), 'utf8');
  return {
    'alembic.ini': app('alembic.ini'),
    'alembic/env.py': app('alembic/env.py'),
    'alembic/script.py.mako': app('alembic/script.py.mako'),
    ...alembicRevisionFiles(['0001', '0002', '0003']),
  };
}

/** A revision file's text: one upgrade() line, and `downgrade` (a whole def, or nothing) after it. */
export function alembicRevision(id: string, down: string, upgrade: string, downgrade = ''): string {
  return `"""${id}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = '${id}'\ndown_revision = '${down}'\n\n\ndef upgrade():\n    ${upgrade}\n${downgrade}`;
}

/** Debian's alembic, run in the app checkout `dir` against the database. */
export async function runAlembic(dir: string, db: TestDatabase, ...args: string[]): Promise<void> {
  await runProcess('alembic', args, { cwd: dir, env: { DATABASE_URL: db.url } });
}

/** The revisions alembic_version holds, sorted. */
export async function alembicVersion(db: TestDatabase): Promise<string[]> {
  return (await db.query<{ version_num: string }>('SELECT version_num FROM alembic_version ORDER BY 1')).rows.map(
    (row) => row.version_num,
  );
}
