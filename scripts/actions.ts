import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every action folder that has an action.yml, in a stable order. */
export function actionNames(): string[] {
  const dir = path.join(REPO_ROOT, 'actions');
  return readdirSync(dir)
    .filter((name) => existsSync(path.join(dir, name, 'action.yml')))
    .sort();
}

/**
 * Generated markdown in the project's own format, so generated files sit in the formatted tree
 * (`prettier --check .` covers them) and regenerating after a format pass changes nothing.
 */
export async function formatMarkdown(text: string, file: string): Promise<string> {
  const options = await prettier.resolveConfig(file);
  return prettier.format(text, { ...options, filepath: file });
}
