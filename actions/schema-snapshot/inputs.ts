import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../shared/errors.js';
import { booleanInput, listInput, secretInput, stringInput } from '../../shared/inputs.js';

export interface SnapshotInputs {
  databaseUrl: string;
  path: string;
  compareTo?: string;
  ignoreColumnOrder: boolean;
  excludeTables: string[];
  pgBinDir?: string;
}

function workspacePath(file: string): string {
  return path.resolve(process.env.GITHUB_WORKSPACE ?? '.', file);
}

export function readSnapshotInputs(): SnapshotInputs {
  const compareTo = stringInput('compare-to');
  if (compareTo && !existsSync(workspacePath(compareTo)))
    throw new InputError(
      'compare-to',
      `names ${JSON.stringify(compareTo)}, which does not exist: take the earlier snapshot first.`,
    );
  return {
    databaseUrl: secretInput('database-url', { required: true }),
    path: workspacePath(stringInput('path', { required: true })),
    compareTo: compareTo ? workspacePath(compareTo) : undefined,
    ignoreColumnOrder: booleanInput('ignore-column-order', { default: false }),
    excludeTables: listInput('exclude-tables'),
    pgBinDir: stringInput('pg-bin-dir'),
  };
}
