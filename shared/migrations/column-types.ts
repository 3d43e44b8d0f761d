import type { Node, TypeName } from 'libpg-query';
import { nodeType, stringItems } from './sql-parser.js';

/**
 * Column types as the parser spells them (pg_catalog names: int4, varchar, numeric...) with their
 * modifiers, and what changing one into another does to the values already stored: nothing
 * (widening), rounding or truncating them (lossy), or something old code may notice (other).
 */
export interface ColumnType {
  /** Catalog name, lower-case: varchar, text, int4, numeric, timestamptz... */
  name: string;
  /** Type modifiers: varchar(255) -> [255], numeric(10,2) -> [10, 2]. */
  modifiers: number[];
  array: boolean;
}

export type TypeChange = 'same' | 'widening' | 'lossy' | 'other';

const DISPLAY_NAMES: Record<string, string> = {
  int2: 'smallint',
  int4: 'integer',
  int8: 'bigint',
  float4: 'real',
  float8: 'double precision',
  bpchar: 'char',
  bool: 'boolean',
};

export function columnTypeOf(typeName: TypeName | undefined): ColumnType | undefined {
  if (!typeName?.names) return undefined;
  const modifiers = (typeName.typmods ?? []).map((node: Node) => {
    const [type, body] = nodeType(node);
    return type === 'A_Const' ? Number((body.ival as { ival?: number } | undefined)?.ival ?? 0) : Number.NaN;
  });
  return {
    name: stringItems(typeName.names).at(-1)!.toLowerCase(),
    modifiers,
    array: (typeName.arrayBounds ?? []).length > 0,
  };
}

export function displayType(type: ColumnType): string {
  const name = DISPLAY_NAMES[type.name] ?? type.name;
  return `${name}${type.modifiers.length ? `(${type.modifiers.join(',')})` : ''}${type.array ? '[]' : ''}`;
}

const INTEGERS = ['int2', 'int4', 'int8'];
const FLOATS = ['float4', 'float8'];
const TEXTS = new Set(['varchar', 'text']);
const TIMES = new Set(['timestamp', 'timestamptz', 'time', 'timetz', 'interval']);

/** A modifier that bounds the value (a length or a precision); none means unbounded. */
function bound(type: ColumnType, index = 0): number {
  return type.modifiers[index] ?? Number.POSITIVE_INFINITY;
}

/** What converting stored values from `from` to `to` does to them. */
export function compareTypes(from: ColumnType, to: ColumnType): TypeChange {
  if (from.array !== to.array) return 'other';
  if (from.name === to.name && from.modifiers.join(',') === to.modifiers.join(',')) return 'same';
  if (TEXTS.has(from.name) && TEXTS.has(to.name)) {
    // text and varchar without a length hold the same values; a length only limits.
    return (to.name === 'text' ? Number.POSITIVE_INFINITY : bound(to)) >=
      (from.name === 'text' ? Number.POSITIVE_INFINITY : bound(from))
      ? 'widening'
      : 'other';
  }
  if (INTEGERS.includes(from.name)) {
    if (INTEGERS.includes(to.name))
      return INTEGERS.indexOf(to.name) > INTEGERS.indexOf(from.name) ? 'widening' : 'other';
    if (to.name === 'numeric' && to.modifiers.length === 0) return 'widening';
    return 'other';
  }
  if (FLOATS.includes(from.name) || from.name === 'numeric') {
    if (INTEGERS.includes(to.name)) return 'lossy';
    if (from.name === 'float4' && to.name === 'float8') return 'widening';
    if (from.name === 'float8' && to.name === 'float4') return 'lossy';
  }
  if (from.name === 'numeric' && to.name === 'numeric') {
    if (to.modifiers.length === 0) return 'widening';
    // An unconstrained numeric keeps any scale: a scale of its own rounds the stored values.
    if (from.modifiers.length === 0) return 'lossy';
    const [precision, scale] = [from.modifiers[0], from.modifiers[1] ?? 0];
    const [toPrecision, toScale] = [to.modifiers[0], to.modifiers[1] ?? 0];
    if (toScale < scale) return 'lossy';
    return toPrecision - toScale >= precision - scale ? 'widening' : 'other';
  }
  if (TIMES.has(from.name) && from.name === to.name) {
    // timestamp(p): a smaller p rounds the fractional seconds away.
    return bound(to) >= bound(from) ? 'widening' : 'lossy';
  }
  if ((from.name === 'timestamp' || from.name === 'timestamptz') && to.name === 'date') return 'lossy';
  return 'other';
}
