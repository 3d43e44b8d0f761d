import { readSshTarget } from '../../engine/host-inputs.js';
import { InputError } from '../../errors.js';
import { durationInput, jsonInput, stringInput } from '../../inputs.js';
import { STANZA_PATTERN, type PgBackRestSettings } from './host.js';

/** "sudo -u postgres" (words split on white space) or a JSON array, for words with spaces in them. */
export function parseVia(text: string | undefined): string[] {
  if (text === undefined) return [];
  if (text.startsWith('[')) {
    const parsed = jsonInput('pgbackrest-via');
    if (
      !Array.isArray(parsed) ||
      parsed.length === 0 ||
      parsed.some((part) => typeof part !== 'string' || part === '')
    ) {
      throw new InputError(
        'pgbackrest-via',
        'given as JSON must be a non-empty array of non-empty strings, e.g. ["docker", "compose", "exec", "-T", "db"].',
      );
    }
    return parsed as string[];
  }
  return text.split(/\s+/).filter(Boolean);
}

/**
 * The inputs backup-db and restore-db share for method "pgbackrest": which stanza, which config
 * file, and how to reach the host pgBackRest runs on (ssh-host..., pgbackrest-via).
 */
export function readPgBackRestSettings(extra: Pick<PgBackRestSettings, 'serverBinDir'> = {}): PgBackRestSettings {
  const stanza = stringInput('pgbackrest-stanza', {
    pattern: STANZA_PATTERN,
    patternDescription: 'a pgBackRest stanza name (letters, digits, ".", "_" or "-")',
  });
  if (!stanza)
    throw new InputError(
      'pgbackrest-stanza',
      'is required with method "pgbackrest": the stanza (as in pgbackrest.conf) of the cluster.',
    );
  const archiveTimeoutMs = durationInput('archive-timeout', { default: 60_000, min: 1000, max: 3_600_000 });
  return {
    stanza,
    config: stringInput('pgbackrest-config', {
      pattern: /^\//,
      patternDescription: 'an absolute path to pgbackrest.conf on the host pgBackRest runs on',
    }),
    via: parseVia(stringInput('pgbackrest-via')),
    ssh: readSshTarget(),
    archiveTimeoutSeconds: Math.ceil(archiveTimeoutMs / 1000),
    ...extra,
  };
}
