import * as core from '@actions/core';
import type pg from 'pg';
import { InputError, errorMessage } from '../errors.js';
import { detectSchemaVersion } from '../migrations/detect-history.js';
import { connect, type PgTarget } from '../postgres/connection.js';
import { countRows } from '../postgres/databases.js';
import type { SchemaVersionInfo } from './metadata.js';
import { escapeRegExp } from './names.js';

/**
 * One REPEATABLE READ transaction whose snapshot pg_dump is told to use (--snapshot), so the table
 * list, the row counts and the migration version recorded in the metadata describe exactly the
 * data in the dump, even while the application keeps writing.
 */
export interface CatalogTable {
  schema: string;
  name: string;
  /** 'r' ordinary, 'p' partitioned (no data of its own). */
  kind: 'r' | 'p';
  /** On disk with indexes (pg_total_relation_size): what orders the tables by size. */
  bytes: number;
  /** Heap and TOAST (pg_table_size): what pg_dump reads of it. */
  dataBytes: number;
}

export const qualified = (table: { schema: string; name: string }) => `${table.schema}.${table.name}`;

/**
 * A pg_dump/psql name pattern as PostgreSQL regular expressions (processSQLNamePattern): unquoted
 * text is folded to lower case, `*` is `.*`, `?` is `.`, `.` separates schema from name, `$` is
 * literal, double quotes keep case and make everything literal; other regex syntax passes through.
 */
export function namePatternToRegex(pattern: string): { schema?: string; name: string } {
  const parts: string[] = [''];
  let quoted = false;
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === '"') {
      if (quoted && pattern[index + 1] === '"') {
        parts[parts.length - 1] += '"';
        index++;
      } else quoted = !quoted;
    } else if (quoted) {
      parts[parts.length - 1] += escapeRegExp(char);
    } else if (char === '.') {
      parts.push('');
    } else if (char === '*') {
      parts[parts.length - 1] += '.*';
    } else if (char === '?') {
      parts[parts.length - 1] += '.';
    } else if (char === '$') {
      parts[parts.length - 1] += '\\$';
    } else {
      parts[parts.length - 1] += char.toLowerCase();
    }
  }
  const anchor = (text: string) => `^(${text})$`;
  if (parts.length === 1) return { name: anchor(parts[0]) };
  // database.schema.table: pg_dump accepts only the current database; the schema and name count.
  return { schema: anchor(parts[parts.length - 2]), name: anchor(parts[parts.length - 1]) };
}

export class DumpSnapshot {
  private constructor(
    readonly client: pg.Client,
    /** The exported snapshot id, or undefined when the server would not export one. */
    readonly id: string | undefined,
    readonly database: string,
  ) {}

  /** `lockTimeoutMs` bounds each wait for a table lock (0: no limit, as pg_dump itself). */
  static async open(target: PgTarget, lockTimeoutMs = 0): Promise<DumpSnapshot> {
    const client = await connect(target, { applicationName: 'rollback-actions backup-db' });
    try {
      // The transaction stays idle while pg_dump works; a role default must not end it meanwhile.
      // Counting rows runs beside pg_dump: one backend per count leaves the CPUs to the dump, and
      // JIT-compiling a plain count costs more CPU than it saves (measured: ~200 ms on 7M rows).
      await client.query(
        `SET idle_in_transaction_session_timeout = 0; SET statement_timeout = 0; SET lock_timeout = ${Math.round(lockTimeoutMs)}; SET max_parallel_workers_per_gather = 0; SET jit = off`,
      );
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      let id: string | undefined;
      try {
        id = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0].id;
      } catch (error) {
        // (Snapshots cannot be exported from a subtransaction, so there is no savepoint to go back to.)
        await client.query('ROLLBACK');
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        core.warning(
          `The server would not export a snapshot (${errorMessage(error)}); row counts are read beside the dump, not in its snapshot.`,
        );
      }
      return new DumpSnapshot(client, id, target.database);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** Tables pg_dump dumps: user tables (not extension members, not temporary), filtered like pg_dump. */
  async tables(include: string[], exclude: string[]): Promise<CatalogTable[]> {
    const all = await this.client.query<{
      schema: string;
      name: string;
      kind: 'r' | 'p';
      bytes: string;
      data_bytes: string;
    }>(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, pg_total_relation_size(c.oid) AS bytes, pg_table_size(c.oid) AS data_bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1, 2`,
    );
    // Relations pg_dump's --table / --exclude-table patterns select from (expand_table_name_patterns).
    const matching = async (patterns: string[], input: 'tables' | 'exclude-tables') => {
      const names = new Set<string>();
      for (const pattern of patterns) {
        const regex = namePatternToRegex(pattern);
        const sql = `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND c.relname ~ $1 AND ${regex.schema ? 'n.nspname ~ $2' : 'pg_catalog.pg_table_is_visible(c.oid)'}`;
        // The failed query ends the transaction, which is fine: the backup stops here (prepareBackup closes the snapshot).
        const rows = await this.client
          .query<{ schema: string; name: string }>(sql, regex.schema ? [regex.name, regex.schema] : [regex.name])
          .then((result) => result.rows)
          .catch((error: unknown) => {
            throw new InputError(
              input,
              `has the pattern "${pattern}", which is not a valid pg_dump name pattern: ${errorMessage(error)}.`,
            );
          });
        // pg_dump --strict-names would stop on it after the snapshot is taken; say so up front, naming the input.
        if (input === 'tables' && rows.length === 0) {
          throw new InputError(
            input,
            `has the pattern "${pattern}", which matches no table, view or sequence in database "${this.database}": no matching tables were found for pattern "${pattern}". Nothing was dumped.`,
          );
        }
        for (const row of rows) names.add(qualified(row));
      }
      return names;
    };
    const included = include.length > 0 ? await matching(include, 'tables') : undefined;
    const excluded = await matching(exclude, 'exclude-tables');
    return all.rows
      .map((row) => ({
        schema: row.schema,
        name: row.name,
        kind: row.kind,
        bytes: Number(row.bytes),
        dataBytes: Number(row.data_bytes),
      }))
      .filter((table) => (included ? included.has(qualified(table)) : true) && !excluded.has(qualified(table)));
  }

  /**
   * Row counts of the `limit` largest tables, in this snapshot: exact (a full scan each, beside the
   * dump) for tables of at most `maxDataBytes`, PostgreSQL's own estimate (pg_class.reltuples) for
   * larger ones, whose second full scan would compete with pg_dump's for the same disks and CPUs.
   */
  async rowCounts(
    tables: CatalogTable[],
    limit: number,
    maxDataBytes = Infinity,
  ): Promise<{ exact: Record<string, number>; estimated: Record<string, number> }> {
    const largest = [...tables]
      .sort((a, b) => b.bytes - a.bytes || qualified(a).localeCompare(qualified(b)))
      .slice(0, limit);
    const counts = await countRows(
      this.client,
      largest.filter((table) => table.dataBytes <= maxDataBytes),
    );
    const tooBig = largest.filter((table) => table.dataBytes > maxDataBytes);
    const estimated: Record<string, number> = {};
    if (tooBig.length > 0) {
      const { rows } = await this.client.query<{ name: string; estimate: number }>(
        `SELECT n.nspname || '.' || c.relname AS name, c.reltuples::float8 AS estimate FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND c.reltuples >= 0`,
        [tooBig.map((table) => table.schema), tooBig.map((table) => table.name)],
      );
      for (const row of rows) estimated[row.name] = Math.round(row.estimate);
    }
    const sorted = (record: Record<string, number>) =>
      Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
    return { exact: sorted(counts), estimated: sorted(estimated) };
  }

  async schemaVersion(): Promise<SchemaVersionInfo | null> {
    const found = await detectSchemaVersion(this.client);
    return found ? { tool: found.format, table: found.table, version: found.version, dirty: found.dirty } : null;
  }

  async close(): Promise<void> {
    await this.client.query('COMMIT').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }
}
