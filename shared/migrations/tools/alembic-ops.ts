import {
  classifySql,
  type ClassifyOptions,
  strongestClass,
  type MigrationClass,
  type SqlClassification,
  type StatementFinding,
} from '../classify.js';
import type { AlembicOp } from './alembic-revisions.js';

/**
 * What old code notices of an upgrade(), read from its op.* calls when Alembic's offline SQL cannot
 * be had (the command does not run on the runner). op.execute's SQL goes to the SQL classifier.
 */

type OpRule = (op: AlembicOp) => { class: MigrationClass; reason: string; lost?: string[] };

const column = (op: AlembicOp) =>
  `${op.args[0] ?? op.kwargs.table_name ?? '?'}.${op.column?.name ?? op.args[1] ?? op.kwargs.column_name ?? '?'}`;

const RULES: Record<string, OpRule> = {
  create_table: (op) => ({ class: 'additive', reason: `creates table ${op.args[0] ?? '?'}` }),
  create_index: (op) => ({
    class: op.kwargs.unique === true ? 'breaking' : 'additive',
    reason: `creates ${op.kwargs.unique === true ? 'unique ' : ''}index ${op.args[0] ?? '?'}`,
  }),
  add_column: (op) => {
    const required = op.column?.kwargs.nullable === false && op.column.kwargs.server_default === undefined;
    return required
      ? {
          class: 'breaking',
          reason: `adds column ${column(op)} NOT NULL without a server default: old code's inserts fail`,
        }
      : {
          class: 'additive',
          reason: `adds column ${column(op)}${op.column?.kwargs.nullable === false ? ' with a server default' : ', nullable'}`,
        };
  },
  drop_column: (op) => ({ class: 'data-loss', reason: `drops column ${column(op)}`, lost: [column(op)] }),
  drop_table: (op) => ({
    class: 'data-loss',
    reason: `drops table ${op.args[0] ?? '?'}`,
    lost: [String(op.args[0] ?? '?')],
  }),
  drop_index: (op) => ({ class: 'additive', reason: `drops index ${op.args[0] ?? '?'}` }),
  alter_column: (op) => {
    if (op.kwargs.new_column_name !== undefined)
      return { class: 'breaking', reason: `renames column ${column(op)} to ${op.kwargs.new_column_name}` };
    if (op.kwargs.type_ !== undefined) return { class: 'breaking', reason: `changes the type of ${column(op)}` };
    if (op.kwargs.nullable === false)
      return { class: 'breaking', reason: `makes ${column(op)} NOT NULL: old code's inserts without it fail` };
    return { class: 'additive', reason: `alters ${column(op)} (${Object.keys(op.kwargs).join(', ') || 'no change'})` };
  },
  rename_table: (op) => ({ class: 'breaking', reason: `renames table ${op.args[0] ?? '?'} to ${op.args[1] ?? '?'}` }),
  create_foreign_key: (op) => ({ class: 'breaking', reason: `adds foreign key ${op.args[0] ?? '?'}` }),
  create_unique_constraint: (op) => ({ class: 'breaking', reason: `adds unique constraint ${op.args[0] ?? '?'}` }),
  create_check_constraint: (op) => ({ class: 'breaking', reason: `adds check constraint ${op.args[0] ?? '?'}` }),
  drop_constraint: (op) => ({ class: 'additive', reason: `drops constraint ${op.args[0] ?? '?'}` }),
};

export async function classifyAlembicOps(ops: readonly AlembicOp[], file: string): Promise<SqlClassification> {
  const statements: StatementFinding[] = [];
  for (const op of ops) {
    const sql = `op.${op.name}(${op.args.map((arg) => (arg === null ? '…' : JSON.stringify(arg))).join(', ')})`;
    if (op.name === 'execute') {
      const text = op.args[0];
      if (text === null || text === undefined) {
        statements.push({
          sql,
          line: op.line,
          class: 'unknown',
          reasons: ['op.execute of SQL built at run time: nothing can read it before it runs'],
        });
        continue;
      }
      const inner = await classifySql(text, { label: file });
      statements.push(...inner.statements.map((finding) => ({ ...finding, line: op.line })));
      continue;
    }
    const rule = RULES[op.name];
    const found = rule ? rule(op) : { class: 'unknown' as const, reason: `op.${op.name} is not one this suite reads` };
    statements.push({
      sql,
      line: op.line,
      class: found.class,
      reasons: [found.reason],
      ...(found.lost ? { lost: found.lost } : {}),
    });
  }
  return { class: strongestClass(statements.map((statement) => statement.class)), statements };
}

/** Alembic's own bookkeeping in its offline SQL: the version table's rows and the transaction around them. */
function isBookkeeping(sql: string, versionTable: string): boolean {
  const table = versionTable.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return (
    /^\s*(BEGIN|COMMIT)\b/i.test(sql) ||
    new RegExp(
      `^\\s*(UPDATE|INSERT\\s+INTO|DELETE\\s+FROM|CREATE\\s+TABLE)\\s+([\\w"]+\\.)?"?${table}"?[\\s(]`,
      'i',
    ).test(sql)
  );
}

/**
 * Alembic's offline upgrade SQL (`alembic upgrade <from>:<to> --sql`) split per revision: each
 * revision's part follows its "-- Running upgrade <down> -> <revision>" comment.
 */
export function offlineSections(sql: string): Map<string, string> {
  const sections = new Map<string, string>();
  const marker = /^-- Running upgrade [^\n]*-> *([A-Za-z0-9_]+)\s*$/gm;
  const found = [...sql.matchAll(marker)];
  found.forEach((match, index) => {
    const end = index + 1 < found.length ? found[index + 1].index : sql.length;
    sections.set(match[1], sql.slice(match.index + match[0].length, end));
  });
  return sections;
}

/**
 * One revision's part of Alembic's offline SQL, classified by the SQL classifier the other formats
 * use; Alembic's own version-table rows and BEGIN/COMMIT are left out (they are not the revision's).
 */
export async function classifyOfflineSql(
  sql: string,
  versionTable: string,
  options: ClassifyOptions,
): Promise<SqlClassification> {
  const all = await classifySql(sql, options);
  const statements = all.statements.filter((statement) => !isBookkeeping(statement.sql, versionTable));
  return { class: strongestClass(statements.map((statement) => statement.class)), statements };
}
