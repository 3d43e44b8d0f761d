import type pg from 'pg';
import { quoteIdent } from '../postgres/connection.js';
import { createdObjects } from './down-lint.js';
import { executedStatements, type ExecutedEntry } from './plpgsql.js';
import {
  describeObject,
  objectKey,
  statementEffects,
  type DroppedObject,
  type ObjectKind,
  type SchemaObject,
} from './schema-objects.js';
import { statementHeadline } from './statements.js';
import { tableKeyFromName } from './sql-parser.js';
import type { Migration, MigrationScript } from './types.js';

/**
 * The checks apply-down-migrations runs on every down script before it changes anything, shared
 * with compute-rollback-target so a plan never recommends a revert the apply step then refuses:
 * SQL PostgreSQL's grammar rejects, a drop of an object its up migration created as another kind
 * (DROP CONSTRAINT of what is an index), and, given the database, a drop of an object that will not
 * exist when the statement runs (the down files before it in the revert order are taken into
 * account). Transaction opt-outs are checked where the run is planned (runner.ts planDown).
 */

/** A down script to run, newest first, as the runner plans it (history-only steps have no script). */
export interface DownStep {
  version: string;
  script?: MigrationScript;
}

interface Located {
  step: DownStep & { script: MigrationScript };
  entries: ExecutedEntry[];
}

const RELATION_KINDS: Record<string, string> = {
  table: "('r','p','f')",
  view: "('v')",
  'materialized view': "('m')",
  index: "('i','I')",
  sequence: "('S')",
};

/** "app.users" -> "app"."users": the text to_regclass and to_regtype resolve as PostgreSQL would. */
function quotedName(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

interface Presence {
  present: boolean;
  /** An index's table (bare name): dropping the table drops the index with it. */
  owner?: string;
}

/** Whether each object exists now (and each index's table), in one round trip. */
export async function existingNow(client: pg.Client, objects: readonly SchemaObject[]): Promise<Presence[]> {
  if (objects.length === 0) return [];
  const relationCases = Object.entries(RELATION_KINDS).map(
    ([kind, relkinds]) =>
      `WHEN '${kind}' THEN EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass(q.name) AND relkind IN ${relkinds})`,
  );
  const { rows } = await client.query<{ present: boolean; owner: string | null }>(
    `SELECT CASE q.kind ${relationCases.join(' ')}
       WHEN 'type' THEN to_regtype(q.name) IS NOT NULL
       WHEN 'schema' THEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = q.bare)
       WHEN 'column' THEN EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(q.owner) AND attname = q.bare AND attnum > 0 AND NOT attisdropped)
       WHEN 'constraint' THEN EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(q.owner) AND conname = q.bare)
       WHEN 'trigger' THEN EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(q.owner) AND tgname = q.bare)
       ELSE true END AS present,
       CASE q.kind WHEN 'index' THEN (SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE i.indexrelid = to_regclass(q.name)) END AS owner
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS q(kind, name, bare, owner, position)
      ORDER BY q.position`,
    [
      objects.map((object) => object.kind),
      objects.map((object) => quotedName(object.name)),
      objects.map((object) => object.name),
      objects.map((object) => (object.table === undefined ? null : quotedName(object.table))),
    ],
  );
  return rows.map((row) => ({ present: row.present, owner: row.owner ?? undefined }));
}

/** Kinds one name can be created as, where dropping it as the other kind fails. */
const CONFUSABLE: ObjectKind[] = ['index', 'constraint', 'table', 'view', 'materialized view', 'sequence', 'type'];

/** The up created this name, but as something else: "index users_email_key". */
function createdAsOtherKind(
  object: SchemaObject,
  created: ReadonlyMap<string, SchemaObject>,
): SchemaObject | undefined {
  if (!CONFUSABLE.includes(object.kind)) return undefined;
  const name = tableKeyFromName(object.name);
  return [...created.values()].find(
    (other) => other.kind !== object.kind && CONFUSABLE.includes(other.kind) && tableKeyFromName(other.name) === name,
  );
}

function where(step: Located['step'], line: number): string {
  return `${step.script.file} line ${step.script.line - 1 + line}`;
}

/**
 * The reasons the down scripts of `steps` (newest first, as they will run) would fail; empty when
 * none is found. `migrations` gives each one's up script; `client`, when given, the database they
 * will run on.
 */
export async function checkDownScripts(
  steps: readonly DownStep[],
  migrations: readonly Migration[],
  client?: pg.Client,
): Promise<string[]> {
  const problems: string[] = [];
  const located: Located[] = [];
  for (const step of steps) {
    if (step.script)
      located.push({ step: step as Located['step'], entries: await executedStatements(step.script.sql) });
  }
  const ups = new Map(migrations.map((migration) => [migration.version, migration.up]));
  // What the database has now, for every object a down file drops without IF EXISTS.
  const dropped: DroppedObject[] = [];
  for (const { entries } of located) {
    for (const entry of entries)
      if (entry.kind === 'statement')
        dropped.push(
          ...statementEffects(entry.node).drops.filter((object) => !object.ifExists && object.kind !== 'function'),
        );
  }
  const presence = client ? await existingNow(client, dropped) : [];
  const inDatabase = new Map(dropped.map((object, index) => [objectKey(object), presence[index]]));

  // The revert order replayed: what earlier statements created, dropped or renamed.
  const state = new Map<string, boolean>();
  const droppedTables = new Set<string>();
  let tracking = client !== undefined;
  for (const { step, entries } of located) {
    const up = ups.get(step.version);
    const upCreated = up ? createdObjects(await executedStatements(up.sql)).created : new Map<string, SchemaObject>();
    for (const entry of entries) {
      if (entry.kind === 'unreadable') {
        if (entry.reason.startsWith("PostgreSQL's grammar rejects")) {
          problems.push(
            `${where(step, entry.line)}: ${entry.reason.replace(/^PostgreSQL's grammar rejects it/, `PostgreSQL's grammar rejects \`${statementHeadline(entry.text, 80)}\``)}; the revert would fail there.`,
          );
        }
        // SQL nobody can read may create or drop anything: what follows cannot be checked.
        tracking = false;
        continue;
      }
      const effects = statementEffects(entry.node);
      for (const object of effects.drops) {
        const key = objectKey(object);
        const other = object.ifExists ? undefined : createdAsOtherKind(object, upCreated);
        if (other && !upCreated.has(key)) {
          problems.push(
            `${where(step, entry.line)}: drops ${describeObject(object)}, but its up migration created ${describeObject(other)}: \`${statementHeadline(entry.text, 80)}\` fails, as there is no ${object.kind} of that name.`,
          );
        } else if (tracking && !object.ifExists && object.kind !== 'function') {
          const found = inDatabase.get(key);
          const owner = object.table ?? found?.owner;
          const ownerGone = owner !== undefined && droppedTables.has(tableKeyFromName(owner));
          const exists = state.get(key) ?? (!ownerGone && found?.present !== false);
          if (!exists)
            problems.push(
              `${where(step, entry.line)}: drops ${describeObject(object)}, which does not exist in the database when this runs: \`${statementHeadline(entry.text, 80)}\` fails.`,
            );
        }
        state.set(key, false);
        if (object.kind === 'table') droppedTables.add(tableKeyFromName(object.name));
      }
      for (const object of effects.creates) {
        state.set(objectKey(object), true);
        if (object.kind === 'table') droppedTables.delete(tableKeyFromName(object.name));
      }
      for (const { from, to } of effects.renames) {
        state.set(objectKey(from), false);
        state.set(objectKey(to), true);
        // Columns and constraints move with a renamed table: stop checking objects of either name.
        if (from.kind === 'table') tracking = false;
      }
    }
  }
  return problems;
}
