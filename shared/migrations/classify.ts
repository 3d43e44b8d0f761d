import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar } from 'libpg-query';
import { columnTypeOf, compareTypes, displayType, type ColumnType } from './column-types.js';
import { executedStatements, type ExecutedEntry } from './plpgsql.js';
import {
  nodeType,
  parseSql,
  relationName,
  relationNames,
  stringItems,
  tableKeyFromName,
  type ParsedSql,
  type ParsedStatement,
} from './sql-parser.js';

/**
 * What an up migration means for the release rolled back to (the target): can its code keep running
 * on the new schema, and is anything gone that existed when it ran? Each statement is classified
 * from PostgreSQL's own parse tree, never from regexes; statements inside DO blocks and inside
 * functions the migration creates and calls are read with the PL/pgSQL parser and classified alike.
 *
 * - additive: old code cannot notice (new tables, nullable or defaulted columns, indexes, enum values,
 *   a widening type change...)
 * - breaking: old code can fail (dropped/renamed objects, type changes, new NOT NULL or UNIQUE rules...)
 * - unknown: no parser can read it (the grammar rejects it, another procedural language, EXECUTE of
 *   SQL built at run time); treated as breaking
 * - data-changing: rows were added to existing tables; old code finds rows it did not write
 * - data-loss: data that existed at the target is destroyed (a dropped table, column or schema, TRUNCATE,
 *   DELETE, an UPDATE that overwrites values, a lossy type change or USING); no down file brings it back
 */
export const MIGRATION_CLASSES = ['additive', 'breaking', 'unknown', 'data-changing', 'data-loss'] as const;
export type MigrationClass = (typeof MIGRATION_CLASSES)[number];

/** Ordered by what it takes to undo: data-loss and data-changing need a backup, so they outrank the rest. */
const RANK: Record<MigrationClass, number> = {
  additive: 0,
  breaking: 1,
  unknown: 2,
  'data-changing': 3,
  'data-loss': 4,
};

export function strongestClass(classes: Iterable<MigrationClass>): MigrationClass {
  let strongest: MigrationClass = 'additive';
  for (const value of classes) if (RANK[value] > RANK[strongest]) strongest = value;
  return strongest;
}

/** Something true of a statement that a reviewer should see even when the class is harmless. */
export interface StatementWarning {
  kind: 'type-widening' | 'unique-dropped';
  message: string;
}

export interface StatementFinding {
  /** The statement as written (comments before it dropped), shortened for display. */
  sql: string;
  /** 1-based line in the migration file (dbmate: in the up section). */
  line: number;
  class: MigrationClass;
  /** One reason per effect: "renames column projects.title to name: ...". */
  reasons: string[];
  /** data-loss: each table ("sessions") or column ("users.legacy_id") whose existing data it destroys. */
  lost?: string[];
  warnings?: StatementWarning[];
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

/**
 * What the migrations since the target created, shared by the migrations of one plan classified
 * oldest first: the target release never knew these objects, so changing or dropping them neither
 * breaks it nor loses data it had.
 */
export interface SinceTarget {
  /** How messages name the target: "v1.1.0". */
  target: string;
  /** Bare table name -> the migration that created it. */
  tables: Map<string, string>;
  /** "table.column" -> the migration that added it and whether old code's inserts still fill it (default or generated). */
  columns: Map<string, { by: string; filled: boolean }>;
  /** Schemas and types by bare name. */
  schemas: Set<string>;
  types: Set<string>;
  /** Unique indexes and constraints, by bare name. */
  uniques: Set<string>;
}

export function sinceTarget(target: string): SinceTarget {
  return { target, tables: new Map(), columns: new Map(), schemas: new Set(), types: new Set(), uniques: new Set() };
}

/** What a migration's down file restores: the column types an up changed and the unique rules it dropped. */
interface DownKnowledge {
  /** "table.column" -> the type the down file changes it back to. */
  types: Map<string, ColumnType>;
  /** Names of unique indexes and constraints the down file (re-)creates. */
  uniques: Set<string>;
}

function downKnowledge(down: ParsedSql | undefined): DownKnowledge {
  const knowledge: DownKnowledge = { types: new Map(), uniques: new Set() };
  for (const statement of down?.statements ?? []) {
    const [type, body] = nodeType(statement.node);
    if (type === 'IndexStmt' && body.unique && body.idxname) knowledge.uniques.add(String(body.idxname).toLowerCase());
    if (type !== 'AlterTableStmt') continue;
    const table = tableKeyFromName(relationName(body.relation as RangeVar));
    for (const node of (body.cmds as Node[] | undefined) ?? []) {
      const command = nodeType(node)[1] as AlterTableCmd;
      if (command.subtype === 'AT_AlterColumnType') {
        const columnType = columnTypeOf((nodeType(command.def)[1] as ColumnDef).typeName);
        if (columnType) knowledge.types.set(`${table}.${command.name}`, columnType);
      } else if (command.subtype === 'AT_AddConstraint') {
        const constraint = nodeType(command.def)[1] as Constraint;
        if ((constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') && constraint.conname)
          knowledge.uniques.add(constraint.conname.toLowerCase());
      }
    }
  }
  return knowledge;
}

interface MigrationContext {
  since: SinceTarget;
  /** This migration's label, as `since` records creators: "migration 5 add_archived". */
  label: string;
  down: DownKnowledge;
}

type Finding = { class: MigrationClass; reason: string; lost?: string[]; warning?: StatementWarning };
const additive = (reason: string, warning?: StatementWarning): Finding => ({ class: 'additive', reason, warning });
const breaking = (reason: string, warning?: StatementWarning): Finding => ({ class: 'breaking', reason, warning });
const dataChanging = (reason: string): Finding => ({ class: 'data-changing', reason });
const dataLoss = (reason: string, lost: string[]): Finding => ({ class: 'data-loss', reason, lost });
const unknown = (reason: string): Finding => ({ class: 'unknown', reason });

/** Tables are matched by name without schema: migrations rarely qualify consistently. */
function tableKey(relation: RangeVar | undefined): string {
  return (relation?.relname ?? '?').toLowerCase();
}

/** "this migration" or "migration 5 add_archived": who created an object the target never had. */
function creator(context: MigrationContext, by: string): string {
  return by === context.label ? 'this migration' : by;
}

/** Set when the table was created after the target: the target's code never reads or writes it. */
function newTable(context: MigrationContext, relation: RangeVar | undefined): string | undefined {
  const by = context.since.tables.get(tableKey(relation));
  return by === undefined ? undefined : creator(context, by);
}

function newColumn(
  context: MigrationContext,
  table: string,
  column: string | undefined,
): { by: string; filled: boolean } | undefined {
  const found = context.since.columns.get(`${tableKeyFromName(table)}.${String(column).toLowerCase()}`);
  return found && { by: creator(context, found.by), filled: found.filled };
}

function existedPhrase(context: MigrationContext): string {
  return `existed at ${context.since.target}`;
}

function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? [])
    .map((node) => nodeType(node))
    .filter(([type]) => type === 'Constraint')
    .map(([, body]) => body as Constraint);
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

function describeAddColumn(
  table: string,
  column: ColumnDef,
  context: MigrationContext,
  tableIsNew: string | undefined,
): Finding {
  const name = `${table}.${column.colname}`;
  const constraints = constraintsOf(column);
  const typeName = stringItems(column.typeName?.names).at(-1) ?? '';
  const defaultConstraint = constraints.find((constraint) => constraint.contype === 'CONSTR_DEFAULT');
  const generated =
    constraints.some(
      (constraint) => constraint.contype === 'CONSTR_IDENTITY' || constraint.contype === 'CONSTR_GENERATED',
    ) || SERIAL_TYPES.has(typeName);
  // serial types and identity columns are NOT NULL by definition.
  const notNull =
    generated ||
    column.is_not_null === true ||
    constraints.some(
      (constraint) => constraint.contype === 'CONSTR_NOTNULL' || constraint.contype === 'CONSTR_PRIMARY',
    );
  const filled = generated || defaultConstraint !== undefined;
  context.since.columns.set(`${tableKeyFromName(table)}.${String(column.colname).toLowerCase()}`, {
    by: context.label,
    filled,
  });
  for (const constraint of constraints) {
    if ((constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') && constraint.conname)
      context.since.uniques.add(constraint.conname.toLowerCase());
  }
  if (tableIsNew) return additive(`adds column ${name} to a table ${tableIsNew} creates`);
  if (!notNull) return additive(`adds nullable column ${name}: old code neither reads nor writes it`);
  if (generated) return additive(`adds generated column ${name}: the database fills it for old code's inserts`);
  if (defaultConstraint && isConstantExpression(defaultConstraint.raw_expr)) {
    return additive(`adds NOT NULL column ${name} with a constant default: old code's inserts get the default`);
  }
  if (defaultConstraint) {
    return additive(
      `adds NOT NULL column ${name} with a computed default (the table is rewritten once): old code's inserts get the default`,
    );
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

const DUPLICATES_NOTE = 're-creating it in the down file fails once duplicate values have been written';

function uniqueDropped(context: MigrationContext, name: string | undefined): boolean {
  const key = String(name).toLowerCase();
  return context.down.uniques.has(key) || context.since.uniques.has(key);
}

/** A USING that only casts the column itself converts values the way a plain type change does. */
function isPlainConversion(using: Node | undefined, column: string | undefined): boolean {
  const [type, body] = nodeType(using);
  if (!using) return true;
  if (type === 'TypeCast') return isPlainConversion(body.arg as Node, column);
  return type === 'ColumnRef' && stringItems(body.fields as Node[]).at(-1) === column;
}

function describeTypeChange(table: string, command: AlterTableCmd, context: MigrationContext): Finding {
  const column = `${table}.${command.name}`;
  const definition = nodeType(command.def)[1] as ColumnDef;
  const to = columnTypeOf(definition.typeName);
  if (!isPlainConversion(definition.raw_default, command.name)) {
    return dataLoss(
      `rewrites ${column} with a USING expression: the values it ${existedPhrase(context)} with are replaced, not kept`,
      [column],
    );
  }
  const from = context.down.types.get(`${tableKeyFromName(table)}.${command.name}`);
  const change = from && to ? compareTypes(from, to) : 'other';
  if (from && to && change === 'widening') {
    const widened = `widens ${column} from ${displayType(from)} to ${displayType(to)}`;
    return additive(`${widened}: every value old code writes or reads still fits`, {
      kind: 'type-widening',
      message: `${widened}; its down file narrows it back to ${displayType(from)}, which fails once a value that does not fit has been written.`,
    });
  }
  if (from && to && change === 'lossy') {
    return dataLoss(
      `changes ${column} from ${displayType(from)} to ${displayType(to)}, which rounds or truncates the stored values`,
      [column],
    );
  }
  return breaking(`changes the type of ${column}: old code may send or expect values of the old type`);
}

function classifyAlterTableCommand(
  table: string,
  command: AlterTableCmd,
  context: MigrationContext,
  tableIsNew: string | undefined,
): Finding {
  const subtype = command.subtype ?? '';
  const column = command.name ? `${table}.${command.name}` : table;
  if (subtype === 'AT_AddColumn') {
    const [, body] = nodeType(command.def);
    return describeAddColumn(table, body as ColumnDef, context, tableIsNew);
  }
  if (subtype === 'AT_AddConstraint') {
    const constraint = nodeType(command.def)[1] as Constraint;
    if ((constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') && constraint.conname)
      context.since.uniques.add(constraint.conname.toLowerCase());
  }
  if (tableIsNew) return additive(`changes ${table}, a table ${tableIsNew} creates`);
  if (subtype in HARMLESS_ALTER_TABLE)
    return additive(`${HARMLESS_ALTER_TABLE[subtype]} on ${table}: nothing old code reads or writes changes`);
  const added = newColumn(context, table, command.name);
  switch (subtype) {
    case 'AT_DropColumn':
      if (added)
        return additive(
          `drops column ${column}, which ${added.by} added after ${context.since.target}: the target never used it`,
        );
      return dataLoss(
        `drops column ${column}, which ${existedPhrase(context)}: its values are gone, and a down file can re-create the column, not them`,
        [column],
      );
    case 'AT_AlterColumnType':
      if (added)
        return additive(`changes the type of ${column}, which ${added.by} added after ${context.since.target}`);
      return describeTypeChange(table, command, context);
    case 'AT_SetNotNull': {
      if (added?.filled) return additive(`makes ${column} NOT NULL, a column ${added.by} adds with a default`);
      return breaking(`makes ${column} NOT NULL: old code's inserts that leave it empty fail`);
    }
    case 'AT_ColumnDefault':
      return command.def
        ? additive(`sets a default on ${column}`)
        : breaking(`drops the default of ${column}: old code's inserts that relied on it get NULL or fail`);
    case 'AT_DropConstraint': {
      const name = command.name ?? '';
      if (uniqueDropped(context, name)) {
        return breaking(
          `drops unique constraint ${name} on ${table}: old code may rely on it (ON CONFLICT, no duplicates), and ${DUPLICATES_NOTE}`,
          {
            kind: 'unique-dropped',
            message: `drops unique constraint ${name} on ${table}: ${DUPLICATES_NOTE}.`,
          },
        );
      }
      return breaking(
        `drops constraint ${name} on ${table}: old code may rely on it (ON CONFLICT, cascades, checks)`.replace(
          '  ',
          ' ',
        ),
      );
    }
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

/** The columns an UPDATE sets that existed at the target: the values it overwrites. */
function overwrittenColumns(table: string, targets: Node[] | undefined, context: MigrationContext): string[] {
  const names = (targets ?? []).map((node) => nodeType(node)[1].name as string | undefined);
  return [...new Set(names.map((name) => name ?? '?'))]
    .filter((name) => !newColumn(context, table, name))
    .map((name) => `${table}.${name}`);
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
  CallStmt: 'CALL runs a procedure this migration does not create, so its body cannot be read',
  ExecuteStmt: 'EXECUTE runs a prepared statement that is not analysed',
};

function describeDrop(body: Record<string, unknown>, context: MigrationContext): Finding[] {
  const type = String(body.removeType ?? '')
    .replace(/^OBJECT_/, '')
    .toLowerCase()
    .replace(/_/g, ' ');
  const objects = stringItems(body.objects as Node[]);
  const names = objects.join(', ');
  switch (body.removeType) {
    case 'OBJECT_INDEX':
      return objects.map((name) =>
        uniqueDropped(context, tableKeyFromName(name))
          ? breaking(
              `drops unique index ${name}: old code may rely on it (ON CONFLICT, no duplicates), and ${DUPLICATES_NOTE}`,
              {
                kind: 'unique-dropped',
                message: `drops unique index ${name}: ${DUPLICATES_NOTE}.`,
              },
            )
          : additive(`drops index ${name}: old code keeps working, its queries may be slower`),
      );
    case 'OBJECT_TRIGGER':
      return [breaking(`drops trigger ${names}: old code may rely on what it did`)];
    case 'OBJECT_TABLE':
    case 'OBJECT_FOREIGN_TABLE':
      return objects.map((name) => {
        const by = context.since.tables.get(tableKeyFromName(name));
        if (by !== undefined)
          return additive(
            `drops table ${name}, which ${creator(context, by)} created after ${context.since.target}: the target never used it`,
          );
        return dataLoss(
          `drops table ${name}, which ${existedPhrase(context)}: its rows are gone, and a down file can re-create the table, not them`,
          [name],
        );
      });
    case 'OBJECT_SCHEMA':
      return objects.map((name) =>
        context.since.schemas.has(tableKeyFromName(name))
          ? additive(`drops schema ${name}, created after ${context.since.target}`)
          : body.behavior === 'DROP_CASCADE'
            ? dataLoss(
                `drops schema ${name} with CASCADE: every table in it that ${existedPhrase(context)} is gone with its rows`,
                [`schema ${name}`],
              )
            : breaking(`drops schema ${name}: old code still uses it`),
      );
    case 'OBJECT_TYPE':
    case 'OBJECT_DOMAIN':
      if (
        body.behavior === 'DROP_CASCADE' &&
        !objects.every((name) => context.since.types.has(tableKeyFromName(name)))
      ) {
        return [
          dataLoss(
            `drops ${type} ${names} with CASCADE: columns of that type are dropped with their values`,
            objects.map((name) => `columns of type ${name}`),
          ),
        ];
      }
      return [breaking(`drops ${type} ${names}: old code still uses it`)];
    default:
      return [breaking(`drops ${type} ${names}: old code still uses it`)];
  }
}

function describeRename(body: Record<string, unknown>, context: MigrationContext): Finding {
  const relation = relationName(body.relation as RangeVar | undefined);
  const kind = String(body.renameType ?? '')
    .replace(/^OBJECT_/, '')
    .toLowerCase()
    .replace(/_/g, ' ');
  const tableIsNew = newTable(context, body.relation as RangeVar | undefined);
  if (tableIsNew) return additive(`renames inside ${relation}, a table ${tableIsNew} creates`);
  if (body.renameType === 'OBJECT_COLUMN') {
    const added = newColumn(context, relation, body.subname as string | undefined);
    if (added) {
      context.since.columns.set(`${tableKeyFromName(relation)}.${String(body.newname).toLowerCase()}`, {
        by: context.label,
        filled: added.filled,
      });
      return additive(
        `renames column ${relation}.${body.subname}, which ${added.by} added after ${context.since.target}, to ${body.newname}`,
      );
    }
    return breaking(
      `renames column ${relation}.${body.subname} to ${body.newname}: old code still uses ${relation}.${body.subname}`,
    );
  }
  if (body.renameType === 'OBJECT_INDEX' || body.renameType === 'OBJECT_TRIGGER') {
    return additive(`renames ${kind} ${relation} to ${body.newname}: application queries do not name it`);
  }
  const old = body.subname
    ? `${relation}.${body.subname}`
    : body.relation
      ? relation
      : stringItems([body.object as Node]).join('');
  return breaking(`renames ${kind} ${old} to ${body.newname}: old code still uses the old name`);
}

/** Records what a statement creates, so later statements (and later migrations) know the target never had it. */
function recordCreated(type: string, body: Record<string, unknown>, context: MigrationContext): void {
  if (type === 'CreateStmt' || type === 'CreateTableAsStmt') {
    const relation = (type === 'CreateStmt' ? body.relation : (body.into as { rel?: RangeVar } | undefined)?.rel) as
      RangeVar | undefined;
    context.since.tables.set(tableKey(relation), context.label);
    for (const element of (body.tableElts as Node[] | undefined) ?? []) {
      const [elementType, definition] = nodeType(element);
      const constraint = definition as Constraint;
      if (
        elementType === 'Constraint' &&
        (constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY') &&
        constraint.conname
      ) {
        context.since.uniques.add(constraint.conname.toLowerCase());
      }
    }
  } else if (type === 'CreateSchemaStmt') {
    context.since.schemas.add(String(body.schemaname ?? '').toLowerCase());
  } else if (
    type === 'CreateEnumStmt' ||
    type === 'CreateRangeStmt' ||
    type === 'CreateDomainStmt' ||
    type === 'CompositeTypeStmt'
  ) {
    const name =
      type === 'CompositeTypeStmt'
        ? relationName(body.typevar as RangeVar)
        : stringItems((body.typeName ?? body.domainname) as Node[]).join('.');
    context.since.types.add(tableKeyFromName(name));
  } else if (type === 'IndexStmt' && body.unique && body.idxname) {
    context.since.uniques.add(String(body.idxname).toLowerCase());
  }
}

function classifyStatement(statement: Pick<ParsedStatement, 'node'>, context: MigrationContext): Finding[] {
  const [type, body] = nodeType(statement.node);
  const tableIsNew = body.relation ? newTable(context, body.relation as RangeVar) : undefined;
  const relation = relationName(body.relation as RangeVar | undefined);
  recordCreated(type, body, context);
  if (type in HARMLESS_STATEMENTS)
    return [additive(`${HARMLESS_STATEMENTS[type]}: nothing old code reads or writes changes`)];
  if (type in PROCEDURAL_STATEMENTS) return [unknown(`${PROCEDURAL_STATEMENTS[type]}; treated as breaking`)];
  switch (type) {
    case 'CreateStmt':
      return [additive(`creates table ${relation}: old code does not know it`)];
    case 'ViewStmt': {
      const view = relationName(body.view as RangeVar | undefined);
      return [
        additive(
          body.replace
            ? `creates or replaces view ${view} (PostgreSQL only lets a replacement add columns)`
            : `creates view ${view}`,
        ),
      ];
    }
    case 'CreateFunctionStmt': {
      const name = stringItems(body.funcname as Node[]).join('.');
      const what = body.is_procedure ? 'procedure' : 'function';
      return [
        additive(
          body.replace
            ? `creates or replaces ${what} ${name}: old code calling it gets the new body`
            : `creates ${what} ${name}`,
        ),
      ];
    }
    case 'CreateTrigStmt':
      return [additive(`creates trigger ${body.trigname} on ${relation}: it also runs for old code's writes`)];
    case 'CreatePolicyStmt': {
      const table = relationName(body.table as RangeVar | undefined);
      return [
        body.permissive === false
          ? breaking(`adds a restrictive row security policy on ${table}: old code may see or write fewer rows`)
          : additive(`adds a permissive row security policy on ${table}`),
      ];
    }
    case 'IndexStmt': {
      const name = body.idxname ? ` ${body.idxname}` : '';
      const concurrently = body.concurrent ? ' (CONCURRENTLY: cannot run inside a transaction)' : '';
      if (!body.unique) return [additive(`creates index${name} on ${relation}${concurrently}`)];
      if (tableIsNew) return [additive(`creates unique index${name} on ${relation}, a table ${tableIsNew} creates`)];
      return [
        breaking(
          `creates unique index${name} on ${relation}${concurrently}: old code may write duplicates that now fail`,
        ),
      ];
    }
    case 'AlterEnumStmt': {
      const name = stringItems(body.typeName as Node[]).join('.');
      if (body.oldVal)
        return [
          breaking(
            `renames value '${body.oldVal}' of enum ${name} to '${body.newVal}': old code still writes '${body.oldVal}'`,
          ),
        ];
      return [
        additive(
          `adds value '${body.newVal}' to enum ${name} (PostgreSQL cannot remove enum values: a down file cannot undo this)`,
        ),
      ];
    }
    case 'AlterTableStmt':
      return ((body.cmds as Node[] | undefined) ?? []).map((node) =>
        classifyAlterTableCommand(relation, nodeType(node)[1] as AlterTableCmd, context, tableIsNew),
      );
    case 'RenameStmt':
      return [describeRename(body, context)];
    case 'DropStmt':
      return describeDrop(body, context);
    case 'AlterObjectSchemaStmt':
      return [breaking(`moves ${relation} to schema ${body.newschema}: old code still looks for it where it was`)];
    case 'UpdateStmt': {
      if (tableIsNew) return [additive(`updates rows of ${relation}, a table ${tableIsNew} creates`)];
      const overwritten = overwrittenColumns(relation, body.targetList as Node[], context);
      if (overwritten.length === 0)
        return [
          additive(
            `backfills column(s) of ${relation} that ${context.since.target} did not have: no value it wrote is overwritten`,
          ),
        ];
      return [
        dataLoss(
          `overwrites ${overwritten.join(', ')} in existing rows: the values they held are gone, and a down file cannot restore them`,
          overwritten,
        ),
      ];
    }
    case 'DeleteStmt':
      if (tableIsNew) return [additive(`deletes rows of ${relation}, a table ${tableIsNew} creates`)];
      return [dataLoss(`deletes rows of ${relation}: a down file cannot bring them back`, [relation])];
    case 'InsertStmt': {
      if (tableIsNew) return [additive(`fills ${relation}, a table ${tableIsNew} creates`)];
      const conflict = body.onConflictClause as { action?: string } | undefined;
      if (conflict?.action === 'ONCONFLICT_UPDATE') {
        return [
          dataLoss(
            `inserts into ${relation} with ON CONFLICT DO UPDATE: existing rows it conflicts with are overwritten`,
            [relation],
          ),
        ];
      }
      return [
        dataChanging(
          `inserts rows into existing table ${relation}${conflict ? ' (ON CONFLICT DO NOTHING)' : ''}: old code finds rows it did not write`,
        ),
      ];
    }
    case 'MergeStmt': {
      const actions = JSON.stringify(body.mergeWhenClauses ?? []);
      if (tableIsNew) return [additive(`merges into ${relation}, a table ${tableIsNew} creates`)];
      if (/CMD_UPDATE|CMD_DELETE/.test(actions))
        return [dataLoss(`merges into ${relation}, updating or deleting existing rows`, [relation])];
      return [dataChanging(`merges new rows into ${relation}: old code finds rows it did not write`)];
    }
    case 'TruncateStmt': {
      const tables = relationNames(body.relations as Node[] | undefined);
      const existing = tables.filter((table) => !context.since.tables.has(tableKeyFromName(table)));
      if (existing.length === 0)
        return [additive(`truncates ${tables.join(', ')}, created after ${context.since.target}`)];
      return [dataLoss(`truncates ${existing.join(', ')}: every row is gone`, existing)];
    }
    case 'CopyStmt':
      if (body.is_from) return [dataChanging(`loads rows into ${relation} with COPY`)];
      return [additive('copies data out (COPY TO)')];
    case 'SelectStmt':
      return [
        additive(
          body.intoClause
            ? 'creates a table from a query (SELECT INTO)'
            : 'runs a query (functions it calls are not analysed unless this migration creates them)',
        ),
      ];
    default:
      return [breaking(`${type.replace(/Stmt$/, '') || 'this statement'} is not known to be safe for old code`)];
  }
}

function findingOf(entry: ExecutedEntry, context: MigrationContext): StatementFinding {
  const within = entry.within ? ` (${entry.within})` : '';
  if (entry.kind === 'unreadable') {
    return {
      sql: displaySql(entry.text),
      line: entry.line,
      class: 'unknown',
      reasons: [`${entry.reason}${within}; treated as breaking`],
    };
  }
  const findings = classifyStatement(entry, context);
  const lost = [...new Set(findings.flatMap((finding) => finding.lost ?? []))];
  const warnings = findings.flatMap((finding) => (finding.warning ? [finding.warning] : []));
  return {
    sql: displaySql(entry.text),
    line: entry.line,
    class: strongestClass(findings.map((finding) => finding.class)),
    reasons: findings.map((finding) => `${finding.reason}${within}`),
    ...(lost.length ? { lost } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

export interface ClassifyOptions {
  /**
   * What the migrations classified before this one (oldest first) created since the target; one
   * object for a whole plan. Without it the migration is classified against the release before it.
   */
  since?: SinceTarget;
  /** How `since` records this migration as a creator: "migration 5 add_archived". */
  label?: string;
  /** The migration's down file: the column types it restores and the unique rules it re-creates. */
  down?: ParsedSql;
}

/**
 * Classifies every statement a migration executes (DO blocks and the functions it creates and calls
 * included); the migration's class is the strongest found. Takes the parse too, so a caller that
 * also lints the down file against it parses the up file once.
 */
export async function classifySql(sql: string | ParsedSql, options: ClassifyOptions = {}): Promise<SqlClassification> {
  const parsed = typeof sql === 'string' ? await parseSql(sql) : sql;
  const label = options.label ?? 'this migration';
  const context: MigrationContext = {
    since: options.since ?? sinceTarget('the previous release'),
    label,
    down: downKnowledge(options.down),
  };
  const statements = (await executedStatements(parsed)).map((entry) => findingOf(entry, context));
  return { class: strongestClass(statements.map((statement) => statement.class)), statements };
}
