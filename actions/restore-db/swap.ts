import * as core from '@actions/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../shared/errors.js';
import { quoteIdent, withClient, type PgTarget } from '../../shared/postgres/connection.js';
import { databaseExists, firstFreeDatabaseName, maintenanceTarget } from '../../shared/postgres/databases.js';

/**
 * Puts a database restored beside the original in its place: the original is renamed to
 * `<name>_before_restore_<stamp>` (kept, never dropped), the restored one takes its name. Sessions on
 * the original are closed first, since PostgreSQL cannot rename a database in use.
 */
export async function swapDatabases(
  target: PgTarget,
  original: string,
  restored: string,
  stamp: string,
): Promise<string | undefined> {
  return withClient(maintenanceTarget(target), async (client) => {
    if (!(await databaseExists(client, original))) {
      await client.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(original)}`);
      return undefined;
    }
    const previous = await firstFreeDatabaseName(
      client,
      `${original.slice(0, 63 - '_before_restore_'.length - stamp.length)}_before_restore_${stamp}`,
    );
    const { rows } = await client.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [original],
    );
    await client.query(`ALTER DATABASE ${quoteIdent(original)} WITH ALLOW_CONNECTIONS false`);
    try {
      for (let attempt = 1; ; attempt++) {
        await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [original],
        );
        try {
          await client.query(`ALTER DATABASE ${quoteIdent(original)} RENAME TO ${quoteIdent(previous)}`);
          break;
        } catch (error) {
          // 55006: "database is being accessed by other users" while terminated sessions exit.
          if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
          await sleep(250);
        }
      }
    } catch (error) {
      await client.query(`ALTER DATABASE ${quoteIdent(original)} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
      throw error;
    }
    try {
      await client.query(`ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(original)}`);
    } catch (error) {
      await client
        .query(`ALTER DATABASE ${quoteIdent(previous)} RENAME TO ${quoteIdent(original)}`)
        .catch(() => undefined);
      await client.query(`ALTER DATABASE ${quoteIdent(original)} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
      throw error;
    }
    await client.query(`ALTER DATABASE ${quoteIdent(previous)} WITH ALLOW_CONNECTIONS true`);
    // The restored database was created by the restoring user; hand it to the original's owner.
    const owner = rows[0]?.owner;
    if (owner) {
      await client
        .query(`ALTER DATABASE ${quoteIdent(original)} OWNER TO ${quoteIdent(owner)}`)
        .catch((error: unknown) =>
          core.warning(`Could not give ${original} to its previous owner ${owner}: ${errorMessage(error)}`),
        );
    }
    return previous;
  });
}
