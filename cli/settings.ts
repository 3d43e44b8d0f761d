import { readFileSync } from 'node:fs';
import { maskLine } from '../scripts/local-runner/protocol.js';
import { secretMasks } from '../scripts/local-runner/scopes.js';
import { UsageError } from './args.js';

/**
 * Secrets and variables for a run from a terminal: a file (JSON or dotenv), then the environment
 * (ROLLBACK_SECRET_<NAME>, ROLLBACK_VAR_<NAME>), which wins. Secret values are masked in everything
 * the command prints or writes, the way the runner masks them on GitHub.
 */
export const SECRET_PREFIX = 'ROLLBACK_SECRET_';
export const VAR_PREFIX = 'ROLLBACK_VAR_';

/** A JSON object of strings, or dotenv lines (NAME=value, # comments, optional quotes). */
function parseSettingsFile(file: string, option: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--${option}: cannot read ${file}: ${(error as Error).message}`);
  }
  if (text.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`--${option}: ${file} starts with "{" but is not JSON: ${(error as Error).message}`);
    }
    const entries = Object.entries(parsed as Record<string, unknown>);
    const wrong = entries.find(([, value]) => typeof value !== 'string');
    if (wrong) throw new UsageError(`--${option}: ${file}: the value of ${wrong[0]} must be a string`);
    return Object.fromEntries(entries as [string, string][]);
  }
  const values: Record<string, string> = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (!match) throw new UsageError(`--${option}: ${file} line ${index + 1} is not NAME=value`);
    const value = match[2].trim();
    const quoted = /^(["'])(.*)\1$/s.exec(value);
    values[match[1]] = quoted ? quoted[2] : value;
  });
  return values;
}

function prefixed(env: NodeJS.ProcessEnv, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter(([name, value]) => name.startsWith(prefix) && name.length > prefix.length && value !== undefined)
      .map(([name, value]) => [name.slice(prefix.length), value!]),
  );
}

export interface Settings {
  secrets: Record<string, string>;
  vars: Record<string, string>;
  /** The environment for the steps' processes: this one without the secrets and variables above. */
  processEnv: Record<string, string>;
  mask: (text: string) => string;
}

export function readSettings(env: NodeJS.ProcessEnv, files: { secretsFile?: string; varsFile?: string }): Settings {
  const secrets = {
    ...(files.secretsFile ? parseSettingsFile(files.secretsFile, 'secrets-file') : {}),
    ...prefixed(env, SECRET_PREFIX),
  };
  // A token in the usual variable is a secret like the others (and never reaches a step's environment).
  if (!secrets.GITHUB_TOKEN && env.GITHUB_TOKEN) secrets.GITHUB_TOKEN = env.GITHUB_TOKEN;
  const vars = {
    ...(files.varsFile ? parseSettingsFile(files.varsFile, 'vars-file') : {}),
    ...prefixed(env, VAR_PREFIX),
  };
  const processEnv = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        !entry[0].startsWith(SECRET_PREFIX) &&
        !entry[0].startsWith(VAR_PREFIX) &&
        entry[0] !== 'GITHUB_TOKEN',
    ),
  );
  const masks = new Set(Object.values(secrets).flatMap(secretMasks));
  return { secrets, vars, processEnv, mask: (text) => maskLine(text, masks) };
}
