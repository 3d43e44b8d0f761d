import type pg from 'pg';
import { InputError } from '../errors.js';
import { quoteIdent } from '../postgres/connection.js';

/** Where a tool keeps its history: a table, schema-qualified. */
export interface HistoryTable {
  schema: string;
  table: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** "schema_migrations" or "app.schema_migrations" (schema defaults to public). */
export function parseHistoryTable(text: string, inputName = 'history-table'): HistoryTable {
  const parts = text.split('.');
  if (parts.length > 2 || parts.some((part) => !IDENTIFIER.test(part))) {
    throw new InputError(
      inputName,
      `must be a table name such as schema_migrations or app.schema_migrations; got "${text}".`,
    );
  }
  return parts.length === 2 ? { schema: parts[0], table: parts[1] } : { schema: 'public', table: parts[0] };
}

export function qualifiedName(table: HistoryTable): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
}

export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export async function historyTableExists(client: pg.Client, table: HistoryTable): Promise<boolean> {
  const { rows } = await client.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [
    qualifiedName(table),
  ]);
  return rows[0].found !== null;
}
