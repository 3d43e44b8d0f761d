import type pg from 'pg';
import {
  checkHistoryShape,
  historyTableShape,
  readHistory,
  type HistoryState,
  type HistoryTable,
} from '../../shared/migrations/history.js';
import type { MigrationFormat } from '../../shared/migrations/types.js';
import { connect, describeTarget, serverVersion, type PgTarget } from '../../shared/postgres/connection.js';

/**
 * The database the rollback will run on, read (never written) for the plan: its migration tool's
 * own history table is the truth about what is applied, whatever the releases say.
 */
export interface DatabaseState {
  client: pg.Client;
  /** "postgres://app@db.internal:5432/shop", password never included. */
  description: string;
  table: HistoryTable;
  history: HistoryState;
  serverVersionNum: number;
}

export async function openDatabase(
  target: PgTarget,
  format: MigrationFormat,
  table: HistoryTable,
): Promise<DatabaseState> {
  const client = await connect(target, { applicationName: 'rollback-actions compute-rollback-target' });
  try {
    // One snapshot for every read of the plan, and no way to write by mistake.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const shape = await historyTableShape(client, table);
    if (shape) checkHistoryShape(shape, format, table);
    const history = await readHistory(client, format, table);
    return {
      client,
      description: describeTarget(target),
      table,
      history,
      serverVersionNum: (await serverVersion(client)).num,
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

export async function closeDatabase(state: DatabaseState | undefined): Promise<void> {
  await state?.client.query('ROLLBACK').catch(() => undefined);
  await state?.client.end().catch(() => undefined);
}
