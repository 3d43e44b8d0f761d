import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every action folder that has an action.yml, in a stable order. */
export function actionNames(): string[] {
  const dir = path.join(REPO_ROOT, 'actions');
  return readdirSync(dir)
    .filter((name) => existsSync(path.join(dir, name, 'action.yml')))
    .sort();
}
