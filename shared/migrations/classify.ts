import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar } from 'libpg-query';
import { nodeType, parseSql, relationName, relationNames, stringItems, tableKeyFromName, type ParsedSql, type ParsedStatement } from './sql-parser.js';

/**
 * What an up migration means for the release before it: can the old code keep running on the new
 * schema? Each statement is classified from PostgreSQL's own parse tree, never from regexes.
 *
 * - additive: old code cannot notice (new tables, nullable or defaulted columns, indexes, enum values...)
 * - breaking: old code can fail (dropped/renamed objects, type changes, new NOT NULL or UNIQUE rules...)
 * - data-changing: existing rows were rewritten or removed; no down file brings them back
 * - unknown: the grammar rejects it, or it runs procedural code nobody can read statically;
 *   treated as breaking
 */
export const MIGRATION_CLASSES = ['additive', 'breaking', 'unknown', 'data-changing'] as const;
export type MigrationClass = (typeof MIGRATION_CLASSES)[number];

/** Ordered by what it takes to undo: data-changing needs a backup, so it outranks the rest. */
const RANK: Record<MigrationClass, number> = { additive: 0, breaking: 1, unknown: 2, 'data-changing': 3 };

export function strongestClass(classes: Iterable<MigrationClass>): MigrationClass {
  let strongest: MigrationClass = 'additive';
  for (const value of classes) if (RANK[value] > RANK[strongest]) strongest = value;
  return strongest;
}

export interface StatementFinding {
  /** The statement as written (comments before it dropped), shortened for display. */
  sql: string;
  /** 1-based line in the migration file (dbmate: in the up section). */
  line: number;
  class: MigrationClass;
  /** One reason per effect: "renames column projects.title to name: ...". */
  reasons: string[];
}

export interface SqlClassification {
  class: MigrationClass;
  statements: StatementFinding[];
}

const DISPLAY_LIMIT = 300;

export function displaySql(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > DISPLAY_LIMIT ? `${oneLine.slice(0, DISPLAY_LIMIT - 3)}...` : oneLine;
}

/** What earlier statements of the same migration created: old code cannot depend on those. */
interface MigrationContext {
  createdTables: Set<string>;
  /** "table.column" -> whether it was added with a default or generated (old code's inserts still fill it). */
  addedColumns: Map<string, boolean>;
}

type Finding = { class: MigrationClass; reason: string };
const additive = (reason: string): Finding => ({ class: 'additive', reason });
const breaking = (reason: string): Finding => ({ class: 'breaking', reason });
const dataChanging = (reason: string): Finding => ({ class: 'data-changing', reason });
const unknown = (reason: string): Finding => ({ class: 'unknown', reason });

/** Tables are matched by name without schema: migrations rarely qualify consistently. */
function tableKey(relation: RangeVar | undefined): string {
  return (relation?.relname ?? '?').toLowerCase();
}

function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? []).map((node) => nodeType(node)).filter(([type]) => type === 'Constraint').map(([, body]) => body as Constraint);
}

/** A default old code's INSERTs can rely on: a literal, possibly cast ('x'::text, -1, true). */
function isConstantExpression(node: Node | undefined): boolean {
  const [type, body] = nodeType(node);
  if (type === 'A_Const') return true;
  if (type === 'TypeCast') return isConstantExpression(body.arg as Node);
  if (type === 'A_Expr' && body.kind === 'AEXPR_OP' && !body.lexpr) return isConstantExpression(body.rexpr as Node);
  return false;
}

const SERIAL_TYPES = new Set(['smallserial', 'serial', 'bigserial', 'serial2', 'serial4', 'serial8']);

function describeAddColumn(table: string, column: ColumnDef, context: MigrationContext, tableIsNew: boolean): Finding {
  const name = `${table}.${column.colname}`;
  const constraints = constraintsOf(column);
  const typeName = stringItems(column.typeName?.names).at(-1) ?? '';
  const defaultConstraint = constraints.find((constraint) => constraint.contype === 'CONSTR_DEFAULT');
  const generated = constraints.some((constraint) => constraint.contype === 'CONSTR_IDENTITY' || constraint.contype === 'CONSTR_GENERATED') || SERIAL_TYPES.has(typeName);
  // serial types and identity columns are NOT NULL by definition.
  const notNull = generated || column.is_not_null === true || constraints.some((constraint) => constraint.contype === 'CONSTR_NOTNULL' || constraint.contype === 'CONSTR_PRIMARY');
  const filled = generated || defaultConstraint !== undefined;
  context.addedColumns.set(`${tableKeyFromName(table)}.${column.colname}`, filled);
  if (tableIsNew) return additive(`adds column ${name} to a table this migration creates`);
  if (!notNull) return additive(`adds nullable column ${name}: old code neither reads nor writes it`);
  if (generated) return additive(`adds generated column ${name}: the database fills it for old code's inserts`);
  if (defaultConstraint && isConstantExpression(defaultConstraint.raw_expr)) {
    return additive(`adds NOT NULL column ${name} with a constant default: old code's inserts get the default`);
  }
  if (defaultConstraint) {
    return additive(`adds NOT NULL column ${name} with a computed default (the table is rewritten once): old code's inserts get the default`);
  }
  return breaking(`adds NOT NULL column ${name} without a default: old code's inserts do not set it and fail`);
}

const CONSTRAINT_WORDS: Record<string, string> = {
  CONSTR_UNIQUE: 'UNIQUE',
  CONSTR_PRIMARY: 'PRIMARY KEY',
  CONSTR_EXCLUSION: 'EXCLUDE',
  CONSTR_CHECK: 'CHECK',
  CONSTR_FOREIGN: 'FOREIGN KEY',
  CONSTR_NOTNULL: 'NOT NULL',
};

/** ALTER TABLE sub-commands that change nothing old code can observe. */
const HARMLESS_ALTER_TABLE: Record<string, string> = {
  AT_SetStatistics: 'changes planner statistics settings',
  AT_SetOptions: 'changes column options',
  AT_ResetOptions: 'resets column options',
  AT_SetStorage: 'changes column storage',
  AT_SetCompression: 'changes column compression',
  AT_ChangeOwner: 'changes the owner',
  AT_ClusterOn: 'marks a clustering index',
  AT_DropCluster: 'drops the clustering mark',
  AT_SetLogged: 'makes the table logged',
  AT_SetUnLogged: 'makes the table unlogged',
  AT_SetAccessMethod: 'changes the access method',
  AT_SetTableSpace: 'moves the table to another tablespace',
  AT_SetRelOptions: 'changes storage parameters',
  AT_ResetRelOptions: 'resets storage parameters',
  AT_ReplaceRelOptions: 'replaces storage parameters',
  AT_ReplicaIdentity: 'changes the replica identity',
  AT_ValidateConstraint: 'validates an existing constraint that new rows already had to satisfy',
  AT_DropNotNull: 'relaxes a NOT NULL rule',
  AT_AddIdentity: 'makes a column an identity column: the database fills it when old code does not',
  AT_SetIdentity: 'changes identity options',
  AT_EnableTrig: 'enables a trigger',
  AT_EnableAlwaysTrig: 'enables a trigger',
  AT_EnableReplicaTrig: 'enables a trigger',
  AT_DisableTrig: 'disables a trigger',
  AT_EnableTrigAll: 'enables triggers',
  AT_DisableTrigAll: 'disables triggers',
  AT_EnableTrigUser: 'enables triggers',
  AT_DisableTrigUser: 'disables triggers',
  AT_DisableRowSecurity: 'disables row level security',
  AT_NoForceRowSecurity: 'stops forcing row level security on the owner',
  AT_AttachPartition: 'attaches a partition',
  AT_ReAddStatistics: 'rebuilds statistics',
};

function classifyAlterTableCommand(table: string, command: AlterTableCmd, context: MigrationContext, tableIsNew: boolean): Finding {
  const subtype = command.subtype ?? '';
  const column = command.name ? `${table}.${command.name}` : table;
  if (subtype === 'AT_AddColumn') {
    const [, body] = nodeType(command.def);
    return describeAddColumn(table, body as ColumnDef, context, tableIsNew);
  }
  if (tableIsNew) return additive(`changes ${table}, a table this migration creates`);
  if (subtype in HARMLESS_ALTER_TABLE) return additive(`${HARMLESS_ALTER_TABLE[subtype]} on ${table}: nothing old code reads or writes changes`);
  switch (subtype) {
    case 'AT_DropColumn':
      return breaking(`drops column ${column}: old code still reads or writes it`);
    case 'AT_AlterColumnType':
      return breaking(`changes the type of ${column}: old code may send or expect values of the old type`);
    case 'AT_SetNotNull': {
      if (context.addedColumns.get(`${tableKeyFromName(table)}.${command.name}`) === true) {
        return additive(`makes ${column} NOT NULL, a column this migration adds with a default`);
      }
      return breaking(`makes ${column} NOT NULL: old code's inserts that leave it empty fail`);
    }
    case 'AT_ColumnDefault':
      return command.def
        ? additive(`sets a default on ${column}`)
        : breaking(`drops the default of ${column}: old code's inserts that relied on it get NULL or fail`);
    case 'AT_DropConstraint':
      return breaking(`drops constraint ${command.name ?? ''} on ${table}: old code may rely on it (ON CONFLICT, cascades, checks)`.replace('  ', ' '));
    case 'AT_AddConstraint': {
      const [, body] = nodeType(command.def);
      const constraint = body as Constraint;
      const word = CONSTRAINT_WORDS[constraint.contype ?? ''] ?? 'a';
      const name = constraint.conname ? ` ${constraint.conname}` : '';
      const unchecked = constraint.skip_validation ? ' (NOT VALID: existing rows unchecked, new ones checked)' : '';
      return breaking(`adds ${word} constraint${name} on ${table}${unchecked}: old code's writes may violate it`);
    }
    case 'AT_AddIndexConstraint':
      return breaking(`turns a unique index into a constraint on ${table}: old code's writes may violate it`);
    case 'AT_SetExpression':
    case 'AT_DropExpression':
      return breaking(`changes the generation expression of ${column}`);
    case 'AT_DropIdentity':
      return breaking(`drops the identity of ${column}: old code's inserts that omit it fail`);
    case 'AT_EnableRowSecurity':
    case 'AT_ForceRowSecurity':
      return breaking(`enables row level security on ${table}: old code may see or write fewer rows`);
    case 'AT_DetachPartition':
    case 'AT_DetachPartitionFinalize':
      return breaking(`detaches a partition of ${table}: its rows disappear from the table old code queries`);
    default:
      return breaking(`ALTER TABLE ${table} (${subtype.replace(/^AT_/, '')}) is not known to be safe for old code`);
  }
}

function isUpdateOfNewColumnsOnly(table: string, targets: Node[] | undefined, context: MigrationContext): boolean {
  const names = (targets ?? []).map((node) => nodeType(node)[1].name as string | undefined);
  return names.length > 0 && names.every((name) => name !== undefined && context.addedColumns.has(`${table}.${name}`));
}

/** Statement types that cannot affect what old code reads or writes. */
const HARMLESS_STATEMENTS: Record<string, string> = {
  TransactionStmt: 'transaction control',
  VariableSetStmt: 'sets a session setting',
  VariableShowStmt: 'shows a setting',
  CommentStmt: 'sets a comment',
  GrantStmt: 'grants or revokes privileges',
  GrantRoleStmt: 'grants or revokes a role',
  AlterDefaultPrivilegesStmt: 'changes default privileges',
  AlterOwnerStmt: 'changes an owner',
  LockStmt: 'takes a lock',
  VacuumStmt: 'vacuums or analyzes',
  ClusterStmt: 'reorders a table physically',
  ReindexStmt: 'rebuilds indexes',
  RefreshMatViewStmt: 'refreshes a materialized view',
  NotifyStmt: 'sends a notification',
  CreateEnumStmt: 'creates an enum type',
  CreateDomainStmt: 'creates a domain',
  CompositeTypeStmt: 'creates a composite type',
  CreateRangeStmt: 'creates a range type',
  CreateSeqStmt: 'creates a sequence',
  AlterSeqStmt: 'changes a sequence',
  CreateSchemaStmt: 'creates a schema',
  CreateExtensionStmt: 'creates an extension',
  CreateStatsStmt: 'creates extended statistics',
  CreateTableAsStmt: 'creates a table or materialized view from a query',
  DefineStmt: 'defines an aggregate, operator, collation or type',
  CreateCastStmt: 'creates a cast',
  CreateConversionStmt: 'creates a conversion',
  CreateRoleStmt: 'creates a role',
  CreatePublicationStmt: 'creates a publication',
  ExplainStmt: 'explains a query',
  CheckPointStmt: 'forces a checkpoint',
  DiscardStmt: 'discards session state',
};

const PROCEDURAL_STATEMENTS: Record<string, string> = {
  DoStmt: 'a DO block runs procedural code that is not analysed',
  CallStmt: 'CALL runs a procedure that is not analysed',
  ExecuteStmt: 'EXECUTE runs a prepared statement that is not analysed',
};

function describeDrop(body: Record<string, unknown>): Finding {
  const type = String(body.removeType ?? '').replace(/^OBJECT_/, '').toLowerCase().replace(/_/g, ' ');
  const names = stringItems(body.objects as Node[]).join(', ');
  if (body.removeType === 'OBJECT_INDEX') return additive(`drops index ${names}: old code keeps working, its queries may be slower`);
  if (body.removeType === 'OBJECT_TRIGGER') return breaking(`drops trigger ${names}: old code may rely on what it did`);
  return breaking(`drops ${type} ${names}: old code still uses it`);
}

function describeRename(body: Record<string, unknown>): Finding {
  const relation = relationName(body.relation as RangeVar | undefined);
  const kind = String(body.renameType ?? '').replace(/^OBJECT_/, '').toLowerCase().replace(/_/g, ' ');
  if (body.renameType === 'OBJECT_COLUMN') {
    return breaking(`renames column ${relation}.${body.subname} to ${body.newname}: old code still uses ${relation}.${body.subname}`);
  }
  if (body.renameType === 'OBJECT_INDEX' || body.renameType === 'OBJECT_TRIGGER') {
    return additive(`renames ${kind} ${relation} to ${body.newname}: application queries do not name it`);
  }
  const old = body.subname ? `${relation}.${body.subname}` : body.relation ? relation : stringItems([body.object as Node]).join('');
  return breaking(`renames ${kind} ${old} to ${body.newname}: old code still uses the old name`);
}

function classifyStatement(statement: ParsedStatement, context: MigrationContext): Finding[] {
  const [type, body] = nodeType(statement.node);
  if (type in HARMLESS_STATEMENTS) return [additive(`${HARMLESS_STATEMENTS[type]}: nothing old code reads or writes changes`)];
  if (type in PROCEDURAL_STATEMENTS) return [unknown(`${PROCEDURAL_STATEMENTS[type]}; treated as breaking`)];
  switch (type) {
    case 'CreateStmt': {
      const relation = body.relation as RangeVar | undefined;
      context.createdTables.add(tableKey(relation));
      return [additive(`creates table ${relationName(relation)}: old code does not know it`)];
    }
    case 'ViewStmt': {
      const view = relationName(body.view as RangeVar | undefined);
      return [additive(body.replace ? `creates or replaces view ${view} (PostgreSQL only lets a replacement add columns)` : `creates view ${view}`)];
    }
    case 'CreateFunctionStmt': {
      const name = stringItems(body.funcname as Node[]).join('.');
      const what = body.is_procedure ? 'procedure' : 'function';
      return [additive(body.replace ? `creates or replaces ${what} ${name}: old code calling it gets the new body` : `creates ${what} ${name}`)];
    }
    case 'CreateTrigStmt':
      return [additive(`creates trigger ${body.trigname} on ${relationName(body.relation as RangeVar)}: it also runs for old code's writes`)];
    case 'CreatePolicyStmt': {
      const table = relationName(body.table as RangeVar | undefined);
      return [body.permissive === false ? breaking(`adds a restrictive row security policy on ${table}: old code may see or write fewer rows`) : additive(`adds a permissive row security policy on ${table}`)];
    }
    case 'IndexStmt': {
      const relation = body.relation as RangeVar | undefined;
      const name = body.idxname ? ` ${body.idxname}` : '';
      const concurrently = body.concurrent ? ' (CONCURRENTLY: cannot run inside a transaction)' : '';
      if (!body.unique) return [additive(`creates index${name} on ${relationName(relation)}${concurrently}`)];
      if (context.createdTables.has(tableKey(relation))) return [additive(`creates unique index${name} on ${relationName(relation)}, a table this migration creates`)];
      return [breaking(`creates unique index${name} on ${relationName(relation)}${concurrently}: old code may write duplicates that now fail`)];
    }
    case 'AlterEnumStmt': {
      const name = stringItems(body.typeName as Node[]).join('.');
      if (body.oldVal) return [breaking(`renames value '${body.oldVal}' of enum ${name} to '${body.newVal}': old code still writes '${body.oldVal}'`)];
      return [additive(`adds value '${body.newVal}' to enum ${name} (PostgreSQL cannot remove enum values: a down file cannot undo this)`)];
    }
    case 'AlterTableStmt': {
      const relation = body.relation as RangeVar | undefined;
      const table = relationName(relation);
      const tableIsNew = context.createdTables.has(tableKey(relation));
      return ((body.cmds as Node[] | undefined) ?? []).map((node) => classifyAlterTableCommand(table, nodeType(node)[1] as AlterTableCmd, context, tableIsNew));
    }
    case 'RenameStmt':
      if (context.createdTables.has(tableKey(body.relation as RangeVar | undefined))) return [additive(`renames inside ${relationName(body.relation as RangeVar)}, a table this migration creates`)];
      return [describeRename(body)];
    case 'DropStmt':
      return [describeDrop(body)];
    case 'AlterObjectSchemaStmt':
      return [breaking(`moves ${relationName(body.relation as RangeVar | undefined)} to schema ${body.newschema}: old code still looks for it where it was`)];
    case 'UpdateStmt': {
      const relation = body.relation as RangeVar | undefined;
      const table = tableKey(relation);
      if (context.createdTables.has(table)) return [additive(`updates rows of ${relationName(relation)}, a table this migration creates`)];
      if (isUpdateOfNewColumnsOnly(table, body.targetList as Node[], context)) {
        return [additive(`backfills column(s) of ${relationName(relation)} that this migration adds`)];
      }
      return [dataChanging(`updates existing rows of ${relationName(relation)}: a down file cannot restore the old values`)];
    }
    case 'DeleteStmt': {
      const relation = body.relation as RangeVar | undefined;
      if (context.createdTables.has(tableKey(relation))) return [additive(`deletes rows of ${relationName(relation)}, a table this migration creates`)];
      return [dataChanging(`deletes rows of ${relationName(relation)}: a down file cannot bring them back`)];
    }
    case 'InsertStmt': {
      const relation = body.relation as RangeVar | undefined;
      if (context.createdTables.has(tableKey(relation))) return [additive(`fills ${relationName(relation)}, a table this migration creates`)];
      const upsert = body.onConflictClause ? ' (ON CONFLICT: may also update existing rows)' : '';
      return [dataChanging(`inserts rows into existing table ${relationName(relation)}${upsert}: old code finds rows it did not write`)];
    }
    case 'MergeStmt':
      return [dataChanging(`merges into ${relationName(body.relation as RangeVar | undefined)}: existing rows change`)];
    case 'TruncateStmt':
      return [dataChanging(`truncates ${relationNames(body.relations as Node[] | undefined).join(', ')}: every row is gone`)];
    case 'CopyStmt':
      if (body.is_from) return [dataChanging(`loads rows into ${relationName(body.relation as RangeVar | undefined)} with COPY`)];
      return [additive('copies data out (COPY TO)')];
    case 'SelectStmt':
      return [additive(body.intoClause ? 'creates a table from a query (SELECT INTO)' : 'runs a query (functions it calls are not analysed)')];
    default:
      return [breaking(`${type.replace(/Stmt$/, '') || 'this statement'} is not known to be safe for old code`)];
  }
}

/**
 * Classifies every statement of a migration's SQL; the migration's class is the strongest found.
 * Takes the parse too, so a caller that also lints the down file against it parses the up file once.
 */
export async function classifySql(sql: string | ParsedSql): Promise<SqlClassification> {
  const parsed = typeof sql === 'string' ? await parseSql(sql) : sql;
  const context: MigrationContext = { createdTables: new Set(), addedColumns: new Map() };
  const statements: StatementFinding[] = [];
  const byLine = [
    ...parsed.statements.map((statement) => ({ line: statement.line, statement, error: undefined as string | undefined, text: statement.text })),
    ...parsed.errors.map((error) => ({ line: error.line, statement: undefined, error: error.error, text: error.text })),
  ].sort((a, b) => a.line - b.line);
  for (const entry of byLine) {
    if (entry.statement) {
      const findings = classifyStatement(entry.statement, context);
      statements.push({
        sql: displaySql(entry.text),
        line: entry.line,
        class: strongestClass(findings.map((finding) => finding.class)),
        reasons: findings.map((finding) => finding.reason),
      });
    } else {
      statements.push({
        sql: displaySql(entry.text),
        line: entry.line,
        class: 'unknown',
        reasons: [`PostgreSQL's grammar rejects it (${entry.error}); treated as breaking`],
      });
    }
  }
  return { class: strongestClass(statements.map((statement) => statement.class)), statements };
}
