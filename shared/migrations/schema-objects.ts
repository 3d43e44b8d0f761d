import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar } from 'libpg-query';
import { nodeType, relationName, stringItems, tableKeyFromName } from './sql-parser.js';

/**
 * The schema objects a statement creates, drops and renames, read from its parse tree: what a
 * down file needs to exist when it runs, and what an up file leaves for its down file to remove.
 */
export type ObjectKind =
  | 'table'
  | 'view'
  | 'materialized view'
  | 'index'
  | 'sequence'
  | 'type'
  | 'schema'
  | 'column'
  | 'constraint'
  | 'trigger'
  | 'function';

export interface SchemaObject {
  kind: ObjectKind;
  /** As written, possibly schema-qualified ("app.users"); for a column, constraint or trigger its own name. */
  name: string;
  /** The table a column, constraint or trigger belongs to, as written. */
  table?: string;
}

export interface DroppedObject extends SchemaObject {
  /** IF EXISTS: dropping nothing is no error. */
  ifExists: boolean;
}

export interface StatementEffects {
  creates: SchemaObject[];
  drops: DroppedObject[];
  renames: { from: SchemaObject; to: SchemaObject }[];
}

/**
 * One key per object, names compared without schema and case-insensitively, as migrations rarely
 * qualify names consistently: "column:users.email", "index:users_email_key".
 */
export function objectKey(object: SchemaObject): string {
  const table = object.table === undefined ? '' : `${tableKeyFromName(object.table)}.`;
  return `${object.kind}:${table}${tableKeyFromName(object.name)}`;
}

export function describeObject(object: SchemaObject): string {
  if (object.kind === 'column') return `column ${object.table}.${object.name}`;
  if (object.table !== undefined) return `${object.kind} ${object.name} on ${object.table}`;
  return `${object.kind} ${object.name}`;
}

const DROP_KINDS: Record<string, ObjectKind> = {
  OBJECT_TABLE: 'table',
  OBJECT_FOREIGN_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_INDEX: 'index',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_TYPE: 'type',
  OBJECT_DOMAIN: 'type',
  OBJECT_SCHEMA: 'schema',
  OBJECT_FUNCTION: 'function',
  OBJECT_PROCEDURE: 'function',
  OBJECT_TRIGGER: 'trigger',
};

const RENAME_KINDS: Record<string, ObjectKind> = {
  ...DROP_KINDS,
  OBJECT_COLUMN: 'column',
  OBJECT_TABCONSTRAINT: 'constraint',
};

/** Constraint kinds that come with an index of the same name. */
const INDEXED_CONSTRAINTS = new Set(['CONSTR_UNIQUE', 'CONSTR_PRIMARY', 'CONSTR_EXCLUSION']);

function constraintObjects(constraint: Constraint, table: string): SchemaObject[] {
  if (!constraint.conname) return [];
  const created: SchemaObject[] = [{ kind: 'constraint', name: constraint.conname, table }];
  if (INDEXED_CONSTRAINTS.has(constraint.contype ?? '')) created.push({ kind: 'index', name: constraint.conname });
  return created;
}

function inlineConstraints(column: ColumnDef): Constraint[] {
  return (column.constraints ?? [])
    .map((node) => nodeType(node))
    .filter(([type]) => type === 'Constraint')
    .map(([, body]) => body as Constraint);
}

function alterTableEffects(body: Record<string, unknown>, effects: StatementEffects): void {
  const table = relationName(body.relation as RangeVar);
  const tableMissingOk = body.missing_ok === true;
  for (const node of (body.cmds as Node[] | undefined) ?? []) {
    const command = nodeType(node)[1] as AlterTableCmd;
    const ifExists = tableMissingOk || command.missing_ok === true;
    if (command.subtype === 'AT_AddColumn') {
      const column = nodeType(command.def)[1] as ColumnDef;
      effects.creates.push({ kind: 'column', name: column.colname ?? '?', table });
      for (const constraint of inlineConstraints(column)) effects.creates.push(...constraintObjects(constraint, table));
    } else if (command.subtype === 'AT_AddConstraint') {
      effects.creates.push(...constraintObjects(nodeType(command.def)[1] as Constraint, table));
    } else if (command.subtype === 'AT_DropColumn') {
      effects.drops.push({ kind: 'column', name: command.name ?? '?', table, ifExists });
    } else if (command.subtype === 'AT_DropConstraint') {
      effects.drops.push({ kind: 'constraint', name: command.name ?? '?', table, ifExists });
    }
  }
}

function dropEffects(body: Record<string, unknown>, effects: StatementEffects): void {
  const kind = DROP_KINDS[String(body.removeType)];
  if (!kind) return;
  const ifExists = body.missing_ok === true;
  for (const object of (body.objects as Node[] | undefined) ?? []) {
    const parts = stringItems([object])[0].split('.');
    if (kind === 'trigger')
      effects.drops.push({ kind, name: parts.at(-1)!, table: parts.slice(0, -1).join('.'), ifExists });
    else effects.drops.push({ kind, name: parts.join('.'), ifExists });
  }
}

function renameEffects(body: Record<string, unknown>, effects: StatementEffects): void {
  const kind = RENAME_KINDS[String(body.renameType)];
  if (!kind) return;
  const newname = String(body.newname ?? '');
  const relation = body.relation ? relationName(body.relation as RangeVar) : undefined;
  if (kind === 'column' || kind === 'constraint' || kind === 'trigger') {
    effects.renames.push({
      from: { kind, name: String(body.subname ?? ''), table: relation },
      to: { kind, name: newname, table: relation },
    });
  } else {
    const name = relation ?? stringItems([body.object as Node])[0];
    effects.renames.push({ from: { kind, name }, to: { kind, name: newname } });
  }
}

/** What one statement does to the schema's objects (empty for statements that only touch rows). */
export function statementEffects(node: Node): StatementEffects {
  const effects: StatementEffects = { creates: [], drops: [], renames: [] };
  const [type, body] = nodeType(node);
  switch (type) {
    case 'CreateStmt': {
      const table = relationName(body.relation as RangeVar);
      effects.creates.push({ kind: 'table', name: table });
      for (const element of (body.tableElts as Node[] | undefined) ?? []) {
        const [elementType, element_] = nodeType(element);
        if (elementType === 'ColumnDef') {
          effects.creates.push({ kind: 'column', name: (element_ as ColumnDef).colname ?? '?', table });
          for (const constraint of inlineConstraints(element_ as ColumnDef))
            effects.creates.push(...constraintObjects(constraint, table));
        } else if (elementType === 'Constraint') {
          effects.creates.push(...constraintObjects(element_ as Constraint, table));
        }
      }
      break;
    }
    case 'IndexStmt':
      if (body.idxname) effects.creates.push({ kind: 'index', name: String(body.idxname) });
      break;
    case 'ViewStmt':
      effects.creates.push({ kind: 'view', name: relationName(body.view as RangeVar) });
      break;
    case 'CreateTableAsStmt': {
      const into = body.into as { rel?: RangeVar } | undefined;
      effects.creates.push({
        kind: body.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table',
        name: relationName(into?.rel),
      });
      break;
    }
    case 'CreateSeqStmt':
      effects.creates.push({ kind: 'sequence', name: relationName(body.sequence as RangeVar) });
      break;
    case 'CreateEnumStmt':
    case 'CreateRangeStmt':
      effects.creates.push({ kind: 'type', name: stringItems(body.typeName as Node[]).join('.') });
      break;
    case 'CreateDomainStmt':
      effects.creates.push({ kind: 'type', name: stringItems(body.domainname as Node[]).join('.') });
      break;
    case 'CompositeTypeStmt':
      effects.creates.push({ kind: 'type', name: relationName(body.typevar as RangeVar) });
      break;
    case 'CreateSchemaStmt':
      effects.creates.push({ kind: 'schema', name: String(body.schemaname ?? '') });
      break;
    case 'CreateFunctionStmt':
      effects.creates.push({ kind: 'function', name: stringItems(body.funcname as Node[]).join('.') });
      break;
    case 'CreateTrigStmt':
      effects.creates.push({
        kind: 'trigger',
        name: String(body.trigname ?? ''),
        table: relationName(body.relation as RangeVar),
      });
      break;
    case 'AlterTableStmt':
      alterTableEffects(body, effects);
      break;
    case 'DropStmt':
      dropEffects(body, effects);
      break;
    case 'RenameStmt':
      renameEffects(body, effects);
      break;
  }
  return effects;
}
