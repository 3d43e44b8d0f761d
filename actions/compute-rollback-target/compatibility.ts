import { readFile } from 'node:fs/promises';
import semver, { type SemVer } from 'semver';
import { parse as parseYaml } from 'yaml';
import { InputError, errorMessage } from '../../shared/errors.js';

/**
 * The runbook's compatibility matrix as a file: which schema versions each range of app versions
 * runs on. When given, it is the authority on "can the target run on this schema?", over what the
 * migrations' classification suggests.
 *
 * ```yaml
 * releases:
 *   - versions: ">=1.2.0 <1.3.0"   # npm semver range, without the tag prefix
 *     min-schema: 4
 *     max-schema: 5
 *   - versions: "1.1.x"
 *     min-schema: 3                 # optional, default: any
 *     max-schema: 3
 * ```
 */
export interface CompatibilityEntry {
  versions: string;
  minSchema?: string;
  maxSchema: string;
}

export interface CompatibilityMatrix {
  file: string;
  entries: CompatibilityEntry[];
}

const INPUT = 'compatibility-file';

function schemaVersion(value: unknown, where: string): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) {
    throw new InputError(
      INPUT,
      `has ${where} = ${JSON.stringify(value)}; schema versions are migration versions (digits).`,
    );
  }
  return text;
}

export function parseCompatibility(text: string, file: string): CompatibilityMatrix {
  let document: unknown;
  try {
    document = parseYaml(text, { strict: true, uniqueKeys: true });
  } catch (error) {
    throw new InputError(INPUT, `(${file}) is not valid YAML: ${errorMessage(error).split('\n')[0]}`);
  }
  const releases = (document as { releases?: unknown } | null)?.releases;
  if (!Array.isArray(releases) || releases.length === 0) {
    throw new InputError(
      INPUT,
      `(${file}) must have a non-empty "releases" list of { versions, min-schema, max-schema }.`,
    );
  }
  const entries = releases.map((item: unknown, index): CompatibilityEntry => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new InputError(INPUT, `(${file}) releases[${index}] must be a mapping.`);
    const record = item as Record<string, unknown>;
    const unknownKeys = Object.keys(record).filter((key) => !['versions', 'min-schema', 'max-schema'].includes(key));
    if (unknownKeys.length > 0)
      throw new InputError(
        INPUT,
        `(${file}) releases[${index}] has unknown key(s) ${unknownKeys.join(', ')}; expected versions, min-schema, max-schema.`,
      );
    const versions = record.versions;
    if (typeof versions !== 'string' || semver.validRange(versions) === null) {
      throw new InputError(
        INPUT,
        `(${file}) releases[${index}].versions must be a semver range such as ">=1.2.0 <1.3.0" or "1.1.x"; got ${JSON.stringify(versions)}.`,
      );
    }
    if (record['max-schema'] === undefined)
      throw new InputError(INPUT, `(${file}) releases[${index}] needs max-schema.`);
    const maxSchema = schemaVersion(record['max-schema'], `releases[${index}].max-schema`);
    const minSchema =
      record['min-schema'] === undefined
        ? undefined
        : schemaVersion(record['min-schema'], `releases[${index}].min-schema`);
    if (minSchema !== undefined && BigInt(minSchema) > BigInt(maxSchema)) {
      throw new InputError(
        INPUT,
        `(${file}) releases[${index}] has min-schema ${minSchema} above max-schema ${maxSchema}.`,
      );
    }
    return { versions, minSchema, maxSchema };
  });
  return { file, entries };
}

export async function loadCompatibility(file: string): Promise<CompatibilityMatrix> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(INPUT, `names ${file}, which cannot be read: ${errorMessage(error)}`);
  }
  return parseCompatibility(text, file);
}

/** The first entry whose range holds the version (pre-releases included, as 1.3.0-rc.1 is a 1.3.0 build). */
export function compatibilityFor(matrix: CompatibilityMatrix, version: SemVer): CompatibilityEntry | undefined {
  return matrix.entries.find((entry) => semver.satisfies(version, entry.versions, { includePrerelease: true }));
}
