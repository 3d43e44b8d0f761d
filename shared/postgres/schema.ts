import { runProcess } from '../process.js';
import { pgToolEnv, type PgTarget } from './connection.js';

/**
 * A database's schema as text that two databases can be compared by: `pg_dump --schema-only`
 * without the parts that differ between equal schemas (comments, SET lines, the 2025 \restrict
 * keys, ownership and privileges) and, optionally, with each table's columns sorted, because a
 * reverted ADD COLUMN that is re-added lands at the end of the table.
 */
export async function dumpSchema(
  target: PgTarget,
  pgDumpPath: string,
  options: { excludeTables?: string[] } = {},
): Promise<string> {
  const args = ['--schema-only', '--no-owner', '--no-privileges', '--no-comments', '--quote-all-identifiers'];
  for (const table of options.excludeTables ?? []) args.push('--exclude-table', table);
  const { stdout } = await runProcess(pgDumpPath, args, { env: pgToolEnv(target) });
  return stdout;
}

export function normalizeSchema(dump: string, options: { ignoreColumnOrder?: boolean } = {}): string {
  const lines = dump
    .split('\n')
    .filter((line) => !/^\\(restrict|unrestrict)\b/.test(line))
    .filter((line) => !line.startsWith('--'))
    .filter((line) => !/^SET |^SELECT pg_catalog\.set_config/.test(line))
    .map((line) => line.replace(/\s+$/, ''));
  const text = lines
    .join('\n')
    .replace(/\n{2,}/g, '\n\n')
    .trim();
  if (!options.ignoreColumnOrder) return `${text}\n`;
  // Sort the column lines of each CREATE TABLE so column order does not count as a difference.
  const sorted = text.replace(
    /(CREATE TABLE [^\n]+ \(\n)([\s\S]*?)(\n\)[^\n]*;)/g,
    (_match, head: string, body: string, tail: string) => {
      const columns = body
        .split(',\n')
        .map((column) => column.trim())
        .sort();
      return `${head}    ${columns.join(',\n    ')}${tail}`;
    },
  );
  return `${sorted}\n`;
}

/** Statements of `a` that `b` lacks and vice versa, for a readable "schemas differ" error. */
export function schemaDifferences(a: string, b: string): { onlyInFirst: string[]; onlyInSecond: string[] } {
  const statements = (text: string) =>
    new Set(
      text
        .split(/;\n/)
        .map((statement) => statement.trim())
        .filter(Boolean),
    );
  const first = statements(a);
  const second = statements(b);
  return {
    onlyInFirst: [...first].filter((s) => !second.has(s)),
    onlyInSecond: [...second].filter((s) => !first.has(s)),
  };
}
