import type { AlterTableCmd, ColumnDef, Node, RangeVar } from 'libpg-query';
import { displaySql } from './classify.js';
import { nodeType, parseSql, relationName, relationNames, stringItems, tableKeyFromName, type ParsedSql } from './sql-parser.js';

/**
 * What running a down file costs. Reverting `CREATE TABLE` or `ADD COLUMN` is a `DROP`, and a drop
 * takes with it everything written since the up migration ran: the rollback plan must say so. A
 * down file that forgets to undo part of its up migration leaves the schema somewhere no release
 * expects, which the plan reports too.
 */
export type DownFindingKind = 'data-loss' | 'incomplete-down' | 'unparseable-down';

export interface DownFinding {
  kind: DownFindingKind;
  message: string;
  /** The down statement concerned, when there is one. */
  sql?: string;
}

interface SchemaEffects {
  tables: Set<string>;
  /** "table.column" */
  columns: Set<string>;
}

/** Tables and columns an up migration creates, by bare name. */
async function createdByUp(up: string | ParsedSql): Promise<SchemaEffects> {
  const effects: SchemaEffects = { tables: new Set(), columns: new Set() };
  for (const statement of (typeof up === 'string' ? await parseSql(up) : up).statements) {
    const [type, body] = nodeType(statement.node);
    if (type === 'CreateStmt') effects.tables.add(tableKeyFromName(relationName(body.relation as RangeVar)));
    if (type === 'AlterTableStmt') {
      const table = tableKeyFromName(relationName(body.relation as RangeVar));
      for (const node of (body.cmds as Node[] | undefined) ?? []) {
        const command = nodeType(node)[1] as AlterTableCmd;
        if (command.subtype === 'AT_AddColumn') effects.columns.add(`${table}.${(nodeType(command.def)[1] as ColumnDef).colname}`);
      }
    }
  }
  return effects;
}

/**
 * Lints a down file against its up file (its text, or its parse when the caller has one already).
 * `appliedSince` names the moment data started to accumulate ("since 0005_add_archived was applied")
 * for the messages.
 */
export async function lintDownMigration(upSql: string | ParsedSql | undefined, downSql: string, appliedSince: string): Promise<DownFinding[]> {
  const findings: DownFinding[] = [];
  const down = await parseSql(downSql);
  for (const error of down.errors) {
    findings.push({ kind: 'unparseable-down', message: `PostgreSQL's grammar rejects this down statement (${error.error}); it will fail when reverting.`, sql: displaySql(error.text) });
  }
  const dropped: SchemaEffects = { tables: new Set(), columns: new Set() };
  for (const statement of down.statements) {
    const [type, body] = nodeType(statement.node);
    const sql = displaySql(statement.text);
    if (type === 'DropStmt' && body.removeType === 'OBJECT_TABLE') {
      for (const table of stringItems(body.objects as Node[])) {
        dropped.tables.add(tableKeyFromName(table));
        findings.push({ kind: 'data-loss', message: `Reverting drops table ${table}: every row written to it ${appliedSince} is lost.`, sql });
      }
    } else if (type === 'DropStmt' && body.removeType === 'OBJECT_SCHEMA' && body.behavior === 'DROP_CASCADE') {
      findings.push({ kind: 'data-loss', message: `Reverting drops schema ${stringItems(body.objects as Node[]).join(', ')} with CASCADE: every table in it is lost.`, sql });
    } else if (type === 'AlterTableStmt') {
      const table = relationName(body.relation as RangeVar);
      for (const node of (body.cmds as Node[] | undefined) ?? []) {
        const command = nodeType(node)[1] as AlterTableCmd;
        if (command.subtype === 'AT_DropColumn') {
          dropped.columns.add(`${tableKeyFromName(table)}.${command.name}`);
          findings.push({ kind: 'data-loss', message: `Reverting drops column ${table}.${command.name}: values written to it ${appliedSince} are lost.`, sql });
        } else if (command.subtype === 'AT_AlterColumnType') {
          findings.push({ kind: 'data-loss', message: `Reverting changes the type of ${table}.${command.name} back: values that do not fit the old type make the revert fail or are truncated by its USING expression.`, sql });
        }
      }
    } else if (type === 'TruncateStmt') {
      findings.push({ kind: 'data-loss', message: `Reverting truncates ${relationNames(body.relations as Node[] | undefined).join(', ')}: every row is lost.`, sql });
    } else if (type === 'DeleteStmt') {
      findings.push({ kind: 'data-loss', message: `Reverting deletes rows of ${relationName(body.relation as RangeVar)}, including rows written ${appliedSince}.`, sql });
    }
  }
  if (upSql !== undefined) {
    const created = await createdByUp(upSql);
    for (const table of created.tables) {
      if (!dropped.tables.has(table)) findings.push({ kind: 'incomplete-down', message: `The up migration creates table ${table} but the down file does not drop it: the schema after reverting differs from the target's.` });
    }
    for (const column of created.columns) {
      const [table] = column.split('.');
      if (!dropped.columns.has(column) && !dropped.tables.has(table)) {
        findings.push({ kind: 'incomplete-down', message: `The up migration adds column ${column} but the down file does not drop it: the schema after reverting differs from the target's.` });
      }
    }
  }
  return findings;
}
