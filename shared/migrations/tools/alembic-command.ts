import { ActionError, InputError } from '../../errors.js';
import type { HostExecutor } from '../../engine/executor.js';
import { pgToolEnv, type PgTarget } from '../../postgres/connection.js';
import { lastLines } from '../../process.js';

/**
 * The team's `alembic` as this suite runs it (migrate-command): an argument array, never a shell,
 * with the environment the team's env.py reads. apply-down-migrations runs its downgrade with it;
 * both it and compute-rollback-target render Alembic's offline SQL (`--sql`) with it.
 */

/**
 * migrate-command split into an argument array as a shell would split words (spaces; '...' and "..."
 * quote), and nothing else a shell does: no variables, globs, pipes or `;` — it never reaches a shell.
 */
export function parseMigrateCommand(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const char of text.trim()) {
    if (quote) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= '';
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + char;
    }
  }
  if (quote) throw new InputError('migrate-command', `has an unclosed ${quote} quote: ${JSON.stringify(text)}.`);
  if (word !== undefined) words.push(word);
  if (words.length === 0)
    throw new InputError(
      'migrate-command',
      'is empty: give the command that runs alembic, e.g. "alembic" or "docker compose run --rm api alembic".',
    );
  return words;
}

/**
 * What the team's env.py reads: DATABASE_URL (the database-url input as given, or one built from the
 * PG* variables), and libpq's PG* variables, which psycopg2 reads too.
 */
export function alembicEnv(target: PgTarget, databaseUrl: string | undefined): Record<string, string> {
  const url =
    databaseUrl ??
    `postgresql://${encodeURIComponent(target.user)}@${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}/${encodeURIComponent(target.database)}`;
  const env: Record<string, string> = { DATABASE_URL: url };
  for (const [name, value] of Object.entries(pgToolEnv(target)))
    if (value !== undefined && name !== 'PGOPTIONS') env[name] = value;
  return env;
}

/**
 * Alembic's offline SQL (`<command> upgrade|downgrade <from>:<to> --sql`): what its upgrade() or
 * downgrade() functions emit, rendered without a database connection.
 */
export async function offlineAlembicSql(
  command: readonly string[],
  executor: HostExecutor,
  direction: 'upgrade' | 'downgrade',
  range: string,
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<string> {
  const [program, ...args] = [...command, direction, range, '--sql'];
  const result = await executor.run(program, args, { ...options, okExitCodes: [0, 1, 2, 255] });
  if (result.exitCode !== 0)
    throw new ActionError(
      `Alembic's offline mode failed (${[program, ...args].join(' ')} on ${executor.description}): ${lastLines(result.stderr, 10)}`,
    );
  return result.stdout;
}
