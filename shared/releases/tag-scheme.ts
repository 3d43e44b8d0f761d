import semver, { type SemVer } from 'semver';

/**
 * How a repository names and orders its releases. Three orders:
 *
 * - `semver`: `<prefix><semantic version>` (v1.2.3), or a tag-pattern whose `version` group is one.
 * - `date`: the date in the tag (2025-12-15, 2025-12-15-rc1). Within one day rc1 < rc2 < … < the tag
 *   without an rc number: the release candidates come before the day's final tag. An rc number does
 *   not make a tag a pre-release: teams that tag 2025-12-15-rc1 deploy it (a GitHub release marked
 *   pre-release still is one).
 * - `created`: when the tag was made (git's creator date: the tagger date of an annotated tag, the
 *   commit date of a lightweight one; a GitHub release's created_at for tags only on GitHub).
 */
export const TAG_ORDERS = ['semver', 'date', 'created'] as const;
export type TagOrder = (typeof TAG_ORDERS)[number];

/** The date tags `tag-order: date` recognises when no tag-pattern is given. */
export const DEFAULT_DATE_PATTERN = String.raw`(?<date>\d{4}-\d{2}-\d{2})(?:-rc\.?(?<rc>\d+))?`;

export interface TagScheme {
  order: TagOrder;
  /** Without a pattern, semver tags are `<prefix><semver>` and `created` tags any tag with the prefix. */
  prefix: string;
  /** Matched against the whole tag. */
  pattern?: RegExp;
  /** For messages: 'with prefix "v"', 'matching tag-pattern ^…$'. */
  description: string;
}

export interface ReleaseVersion {
  semver?: SemVer;
  /** YYYY-MM-DD. */
  date?: string;
  /** rc number within the day; undefined for the day's final tag. */
  rc?: number;
  /** Unix seconds. */
  created?: number;
}

export function tagScheme(order: TagOrder, prefix: string, patternText?: string): TagScheme {
  const source = patternText ?? (order === 'date' ? DEFAULT_DATE_PATTERN : undefined);
  const pattern = source === undefined ? undefined : new RegExp(`^(?:${source})$`, 'u');
  const description =
    patternText !== undefined
      ? `matching tag-pattern ${patternText}`
      : order === 'date'
        ? 'in the form YYYY-MM-DD[-rcN]'
        : `with prefix "${prefix}"`;
  return { order, prefix, pattern, description };
}

/** The groups a tag-pattern must name for an order, or a message saying what is missing. */
export function patternProblem(order: TagOrder, pattern: RegExp): string | undefined {
  const groups = new Set([...pattern.source.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((match) => match[1]));
  if (order === 'semver' && !groups.has('version'))
    return 'has no named group "version": with tag-order "semver" the pattern must capture the semantic version as (?<version>...).';
  if (order === 'date' && !groups.has('date'))
    return 'has no named group "date": with tag-order "date" the pattern must capture the date as (?<date>...), e.g. (?<date>\\d{4}-\\d{2}-\\d{2}).';
  return undefined;
}

/** YYYY-MM-DD, YYYYMMDD or YYYY.MM.DD as YYYY-MM-DD, when it is a day of the calendar. */
function calendarDate(text: string): string | undefined {
  const match = /^(\d{4})[-.]?(\d{2})[-.]?(\d{2})$/.exec(text);
  if (!match) return undefined;
  const iso = `${match[1]}-${match[2]}-${match[3]}`;
  const parsed = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(iso) ? iso : undefined;
}

function parseSemver(text: string): SemVer | undefined {
  // semver.parse would accept "v1.2.3" and "=1.2.3": only the plain grammar counts.
  return /^\d/.test(text) ? (semver.parse(text) ?? undefined) : undefined;
}

/**
 * A tag read with the scheme: undefined when it is not one of this scheme's tags (another
 * component's), `{ reason }` when it looks like one but names no version (v1.2, 2025-13-40).
 */
export function parseTag(scheme: TagScheme, tag: string): ReleaseVersion | { reason: string } | undefined {
  if (!scheme.pattern) {
    if (!tag.startsWith(scheme.prefix)) return undefined;
    if (scheme.order === 'created') return {};
    const version = parseSemver(tag.slice(scheme.prefix.length));
    return version ? { semver: version } : { reason: `not a semantic version after the prefix "${scheme.prefix}"` };
  }
  const match = scheme.pattern.exec(tag);
  if (!match) return undefined;
  const groups: Record<string, string | undefined> = match.groups ?? {};
  if (scheme.order === 'semver') {
    const version = parseSemver(groups.version ?? '');
    return version
      ? { semver: version }
      : { reason: `its "version" group "${groups.version ?? ''}" is not a semantic version` };
  }
  if (scheme.order === 'date') {
    const date = calendarDate(groups.date ?? '');
    if (!date) return { reason: `its "date" group "${groups.date ?? ''}" is not a date (YYYY-MM-DD or YYYYMMDD)` };
    const rcText = groups.rc;
    if (rcText !== undefined && !/^\d+$/.test(rcText)) return { reason: `its "rc" group "${rcText}" is not a number` };
    return { date, rc: rcText === undefined ? undefined : Number(rcText) };
  }
  return {};
}

export function isParsed(parsed: ReleaseVersion | { reason: string } | undefined): parsed is ReleaseVersion {
  return parsed !== undefined && !('reason' in parsed);
}

/** Newest first: a negative number when `a` is newer than `b`. */
export function compareNewestFirst(order: TagOrder, a: ReleaseVersion, b: ReleaseVersion): number {
  if (order === 'semver') return semver.rcompare(a.semver!, b.semver!);
  if (order === 'date') {
    const byDate = b.date!.localeCompare(a.date!);
    // The day's final tag (no rc) comes after all its release candidates.
    return byDate !== 0 ? byDate : (b.rc ?? Infinity) - (a.rc ?? Infinity) || 0;
  }
  return (b.created ?? 0) - (a.created ?? 0);
}
