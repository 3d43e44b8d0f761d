import type { AlterTableCmd, ColumnDef, Node, RangeVar } from 'libpg-query';
import { displaySql } from './classify.js';
import { columnTypeOf, compareTypes, displayType, type ColumnType } from './column-types.js';
import { executedStatements, type ExecutedEntry, type ExecutedStatement } from './plpgsql.js';
import { describeObject, objectKey, statementEffects, type SchemaObject } from './schema-objects.js';
import { nodeType, relationName, relationNames, stringItems, tableKeyFromName, type ParsedSql } from './sql-parser.js';

/**
 * What running a down file costs. Reverting `CREATE TABLE` or `ADD COLUMN` is a `DROP`, and a drop
 * takes with it everything written since the up migration ran: the rollback plan must say so. A
 * down file that forgets to undo part of its up migration leaves the schema somewhere no release
 * expects; one that re-creates a unique rule or narrows a type can fail on what was written since.
 */
export type DownFindingKind = 'data-loss' | 'incomplete-down' | 'revert-may-fail' | 'foreign-drop';

export interface DownFinding {
  kind: DownFindingKind;
  message: string;
  /** The down statement concerned, when there is one. */
  sql?: string;
}

function statementsOf(entries: readonly ExecutedEntry[]): ExecutedStatement[] {
  return entries.filter((entry): entry is ExecutedStatement => entry.kind === 'statement');
}

/**
 * Every object the statements create (by objectKey), the names they rename objects to, and whether
 * every statement could be read (when not, "not created" proves nothing).
 */
export function createdObjects(entries: readonly ExecutedEntry[]): {
  created: Map<string, SchemaObject>;
  renamedTo: Set<string>;
  complete: boolean;
} {
  const created = new Map<string, SchemaObject>();
  const renamedTo = new Set<string>();
  for (const statement of statementsOf(entries)) {
    const effects = statementEffects(statement.node);
    for (const object of effects.creates) created.set(objectKey(object), object);
    for (const { to } of effects.renames) renamedTo.add(objectKey(to));
  }
  return { created, renamedTo, complete: entries.every((entry) => entry.kind === 'statement') };
}

/** "table.column" -> the type the up migration changes it to. */
function typesSetByUp(entries: readonly ExecutedEntry[]): Map<string, ColumnType> {
  const types = new Map<string, ColumnType>();
  for (const statement of statementsOf(entries)) {
    const [type, body] = nodeType(statement.node);
    if (type !== 'AlterTableStmt') continue;
    const table = tableKeyFromName(relationName(body.relation as RangeVar));
    for (const node of (body.cmds as Node[] | undefined) ?? []) {
      const command = nodeType(node)[1] as AlterTableCmd;
      const columnType =
        command.subtype === 'AT_AlterColumnType'
          ? columnTypeOf((nodeType(command.def)[1] as ColumnDef).typeName)
          : undefined;
      if (columnType) types.set(`${table}.${command.name}`, columnType);
    }
  }
  return types;
}

function typeChangeFinding(
  table: string,
  command: AlterTableCmd,
  upTypes: Map<string, ColumnType>,
  appliedSince: string,
  sql: string,
): DownFinding {
  const column = `${table}.${command.name}`;
  const back = columnTypeOf((nodeType(command.def)[1] as ColumnDef).typeName);
  const upType = upTypes.get(`${tableKeyFromName(table)}.${command.name}`);
  if (back && upType && compareTypes(back, upType) === 'widening') {
    return {
      kind: 'revert-may-fail',
      message: `Reverting narrows ${column} back from ${displayType(upType)} to ${displayType(back)}: a value written ${appliedSince} that does not fit makes the revert fail.`,
      sql,
    };
  }
  return {
    kind: 'data-loss',
    message: `Reverting changes the type of ${column} back: values that do not fit the old type make the revert fail or are truncated by its USING expression.`,
    sql,
  };
}

/**
 * Lints a down file against its up file (text or parse; statements inside DO blocks included).
 * `appliedSince` names the moment data started to accumulate ("since 0005_add_archived was applied")
 * for the messages. Whether the down file can run at all is the pre-checks' business (down-checks.ts).
 */
export async function lintDownMigration(
  upSql: string | ParsedSql | undefined,
  downSql: string | ParsedSql,
  appliedSince: string,
): Promise<DownFinding[]> {
  const findings: DownFinding[] = [];
  const down = await executedStatements(downSql);
  const up = upSql === undefined ? undefined : await executedStatements(upSql);
  const upTypes = up ? typesSetByUp(up) : new Map<string, ColumnType>();
  const upCreated = up ? createdObjects(up) : undefined;
  const dropped = new Set<string>();
  const createdByDown = new Set<string>();
  for (const statement of statementsOf(down)) {
    const [type, body] = nodeType(statement.node);
    const sql = displaySql(statement.text);
    const effects = statementEffects(statement.node);
    for (const object of effects.drops) {
      dropped.add(objectKey(object));
      const key = objectKey(object);
      if (
        upCreated?.complete &&
        !object.ifExists &&
        object.kind !== 'function' &&
        !upCreated.created.has(key) &&
        !upCreated.renamedTo.has(key) &&
        !createdByDown.has(key)
      ) {
        findings.push({
          kind: 'foreign-drop',
          message: `The down file drops ${describeObject(object)}, which its up migration does not create: the revert fails unless it exists when it runs.`,
          sql,
        });
      }
    }
    for (const object of effects.creates) createdByDown.add(objectKey(object));
    if (type === 'DropStmt' && body.removeType === 'OBJECT_TABLE') {
      for (const table of stringItems(body.objects as Node[])) {
        findings.push({
          kind: 'data-loss',
          message: `Reverting drops table ${table}: every row written to it ${appliedSince} is lost.`,
          sql,
        });
      }
    } else if (type === 'DropStmt' && body.removeType === 'OBJECT_SCHEMA' && body.behavior === 'DROP_CASCADE') {
      findings.push({
        kind: 'data-loss',
        message: `Reverting drops schema ${stringItems(body.objects as Node[]).join(', ')} with CASCADE: every table in it is lost.`,
        sql,
      });
    } else if (type === 'IndexStmt' && body.unique) {
      findings.push({
        kind: 'revert-may-fail',
        message:
          `Reverting re-creates unique index ${body.idxname ?? ''} on ${relationName(body.relation as RangeVar)}: it fails if duplicate values were written ${appliedSince}.`.replace(
            '  ',
            ' ',
          ),
        sql,
      });
    } else if (type === 'AlterTableStmt') {
      const table = relationName(body.relation as RangeVar);
      for (const node of (body.cmds as Node[] | undefined) ?? []) {
        const command = nodeType(node)[1] as AlterTableCmd;
        if (command.subtype === 'AT_DropColumn') {
          findings.push({
            kind: 'data-loss',
            message: `Reverting drops column ${table}.${command.name}: values written to it ${appliedSince} are lost.`,
            sql,
          });
        } else if (command.subtype === 'AT_AlterColumnType') {
          findings.push(typeChangeFinding(table, command, upTypes, appliedSince, sql));
        } else if (command.subtype === 'AT_AddConstraint') {
          const constraint = nodeType(command.def)[1] as { contype?: string; conname?: string };
          if (constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') {
            findings.push({
              kind: 'revert-may-fail',
              message:
                `Reverting re-creates unique constraint ${constraint.conname ?? ''} on ${table}: it fails if duplicate values were written ${appliedSince}.`.replace(
                  '  ',
                  ' ',
                ),
              sql,
            });
          }
        }
      }
    } else if (type === 'TruncateStmt') {
      findings.push({
        kind: 'data-loss',
        message: `Reverting truncates ${relationNames(body.relations as Node[] | undefined).join(', ')}: every row is lost.`,
        sql,
      });
    } else if (type === 'DeleteStmt') {
      findings.push({
        kind: 'data-loss',
        message: `Reverting deletes rows of ${relationName(body.relation as RangeVar)}, including rows written ${appliedSince}.`,
        sql,
      });
    }
  }
  const createdTables = [...(upCreated?.created.values() ?? [])]
    .filter((object) => object.kind === 'table')
    .map((object) => objectKey(object));
  for (const object of upCreated?.created.values() ?? []) {
    if (object.kind !== 'table' && object.kind !== 'column') continue;
    const table = object.kind === 'column' ? objectKey({ kind: 'table', name: object.table! }) : undefined;
    // A column of a table the up creates goes with that table.
    if (table && createdTables.includes(table)) continue;
    if (!dropped.has(objectKey(object)) && !(table && dropped.has(table))) {
      const what =
        object.kind === 'table'
          ? `creates table ${tableKeyFromName(object.name)}`
          : `adds column ${tableKeyFromName(object.table!)}.${object.name}`;
      findings.push({
        kind: 'incomplete-down',
        message: `The up migration ${what} but the down file does not drop it: the schema after reverting differs from the target's.`,
      });
    }
  }
  return findings;
}
